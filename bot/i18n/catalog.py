"""Locale catalogs: gettext .po files read with Babel, messages rendered as sandboxed Jinja2.

A message is a template written by the operator; what the merchant typed only ever arrives as a
variable, never as template text. StrictUndefined makes a message that names a missing variable
fail loudly (in tests) instead of showing a blank to a merchant."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from jinja2 import StrictUndefined, Template
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.errors import LocaleError
from bot.i18n.filters import FILTERS

ALIASES = {"zh": "zh_CN", "cn": "zh_CN", "zh-hans": "zh_CN", "en": "en"}


def resolve_locale(hint: str | None, available: Iterable[str], default: str) -> str:
    """Map what a platform or a merchant says ("zh-hans", "EN", "zh_CN") to a catalog we have."""
    if not hint:
        return default
    wanted = hint.strip().replace("-", "_").lower()
    by_lower = {name.lower(): name for name in available}
    if wanted in by_lower:
        return by_lower[wanted]
    alias = ALIASES.get(wanted) or ALIASES.get(wanted.split("_")[0])
    return alias if alias in set(by_lower.values()) else default


class Catalog:
    def __init__(self, messages: Mapping[str, Mapping[str, str]]) -> None:
        self.messages = {locale: dict(texts) for locale, texts in messages.items()}
        self._env = ImmutableSandboxedEnvironment(
            undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
        )
        self._env.filters.update(FILTERS)
        self._templates: dict[tuple[str, str], Template | str] = {}
        self._words: dict[str, frozenset[str]] = {}

    @classmethod
    def load(cls, directory: Path) -> Catalog:
        messages: dict[str, dict[str, str]] = {}
        for po in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
            locale = po.parent.parent.name
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=locale)
            messages[locale] = {
                str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.string, str)
            }
        return cls(messages)

    @property
    def locales(self) -> list[str]:
        return list(self.messages)

    def has(self, locale: str, key: str) -> bool:
        return bool(self.messages.get(locale, {}).get(key))

    def render(self, locale: str, key: str, context: Mapping[str, Any]) -> str:
        template = self._templates.get((locale, key))
        if template is None:
            source = self.messages.get(locale, {}).get(key)
            if not source:
                raise LocaleError(locale, key)
            # most messages (every button label) are plain text: no template to run
            plain = "{{" not in source and "{%" not in source and "{#" not in source
            template = source.strip() if plain else self._env.from_string(source)
            self._templates[(locale, key)] = template
        return template if isinstance(template, str) else template.render(context).strip()

    def words(self, key: str) -> frozenset[str]:
        """The '|'-separated words of ``key`` in every locale, lowercased: what merchants type."""
        found = self._words.get(key)
        if found is None:
            found = frozenset(
                word.strip().lower()
                for texts in self.messages.values()
                for word in texts.get(key, "").split("|")
                if word.strip()
            )
            self._words[key] = found
        return found
