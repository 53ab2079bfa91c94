"""The page's language: the conversation's once there is one (the merchant may have switched),
before that the browser's Accept-Language, else posbot's default."""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import resolve_locale

MAX_TAGS = 20  # an Accept-Language header longer than this says nothing more worth reading


def from_accept_language(header: str | None, available: Sequence[str], default: str) -> str:
    """The available locale the browser prefers most ("zh-CN,zh;q=0.9,en;q=0.8" → zh_CN)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")[:MAX_TAGS]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag))
    for _, _, tag in sorted(ranked):
        found = resolve_locale(tag, available, "")
        if found:
            return found
    return default


def switch_target(locale: str) -> str:
    """What the page's language switch asks for (``/lang <this>``): the other language."""
    return "en" if locale.startswith("zh") else "zh"


def html_lang(locale: str) -> str:
    return locale.replace("_", "-")
