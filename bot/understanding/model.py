"""One matcher per locale, built from ``locales/<locale>/intents.yaml``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.understanding.answers import AnswerShape
from bot.understanding.matcher import OUT_OF_SCOPE, Matcher, Scored
from bot.understanding.normalize import Folder
from bot.understanding.plainly import Plainly
from bot.understanding.plainly import check as check_plainly
from bot.understanding.slots import find_slots
from bot.validation import Validator

_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when there

# what a wrong guess would start or throw away: only on a clear match, well ahead of the rest
DESTRUCTIVE = frozenset({"deregister", "suspend", "cancel"})
# not destructive, but leaving the question for them on a vague match would surprise: the same bar
CAREFUL = DESTRUCTIVE | {"lang", "restart"}
# answers to the question at hand, as the values of the buttons they stand for
ANSWERS: Mapping[str, tuple[str, ...]] = {
    "yes": ("yes", "done", "all"),
    "done": ("done", "all", "yes"),
    "no": ("no",),
    "skip": ("skip",),
}
THRESHOLD = 0.36  # below: out of scope
DESTRUCTIVE_THRESHOLD = 0.4
MARGIN = 0.12  # a destructive intent must lead the next one by this much
INTENTS_FILE = "intents.yaml"


@dataclass(frozen=True, slots=True)
class Meaning:
    intent: str | None  # None: out of scope
    confidence: float
    slots: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LocaleModel:
    folder: Folder
    matcher: Matcher
    threshold: float
    destructive_threshold: float
    plainly: Plainly = field(default_factory=lambda: Plainly({}, str))
    answer: AnswerShape = field(default_factory=lambda: AnswerShape((), str))


def load_examples(path: Path) -> dict[str, Any]:
    """One locale's intents file as written: ``aliases``, ``intents: {name: [examples]}``,
    optional ``threshold`` / ``destructive_threshold``, ``plainly`` (see plainly.py),
    ``questions`` (see answers.py)."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SafeLoader) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping with 'intents'")
    return data


class Understanding:
    def __init__(self, models: Mapping[str, LocaleModel], default_locale: str = "zh_CN") -> None:
        self.models = dict(models)
        self.default_locale = default_locale

    @classmethod
    def load(cls, locales_dir: Path, default_locale: str = "zh_CN") -> Understanding:
        models: dict[str, LocaleModel] = {}
        for path in sorted(locales_dir.glob(f"*/{INTENTS_FILE}")):
            data = load_examples(path)
            folder = Folder(
                {str(k): str(v) for k, v in (data.get("aliases") or {}).items()},
                [str(f) for f in data.get("fillers") or ()],
            )
            examples = [
                (str(intent), folder.fold(str(text)))
                for intent, texts in (data.get("intents") or {}).items()
                for text in texts or ()
            ]
            models[path.parent.name] = LocaleModel(
                folder,
                Matcher(examples),
                float(data.get("threshold", THRESHOLD)),
                float(data.get("destructive_threshold", DESTRUCTIVE_THRESHOLD)),
                Plainly(_mapping(data.get("plainly")), folder.fold),
                AnswerShape(_texts(data.get("questions")), folder.fold),
            )
        return cls(models, default_locale)

    @classmethod
    def empty(cls) -> Understanding:
        return cls({})

    def intents(self) -> set[str]:
        return {s for m in self.models.values() for s in m.matcher.labels} - {OUT_OF_SCOPE}

    def intent(self, text: str, locale: str) -> tuple[str | None, float]:
        """The intent of ``text`` in ``locale`` (the others' examples when it has none above
        the threshold: a Chinese message in an English conversation), with its confidence."""
        order = [locale, *(name for name in self.models if name != locale)]
        best: tuple[str | None, float] = (None, 0.0)
        for name in order:
            model = self.models.get(name)
            if model is None:
                continue
            folded = model.folder.fold(text)
            intent, confidence = _decide(model.matcher.rank(folded), model, folded)
            if intent is not None:
                return intent, confidence
            if name == locale or best == (None, 0.0):
                best = (None, confidence)
        return best

    def read(
        self, text: str, locale: str, validators: Mapping[str, Validator] | None = None
    ) -> Meaning:
        intent, confidence = self.intent(text, locale)
        slots = find_slots(text, validators) if validators else {}
        return Meaning(intent, round(confidence, 3), slots)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}  # flows check says what is wrong


def _texts(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _decide(
    ranked: list[Scored] | Any, model: LocaleModel, folded: str
) -> tuple[str | None, float]:
    if ranked and not model.answer.fits(folded):  # a question holding "没问题" is no yes
        ranked = [s for s in ranked if s.intent not in ANSWERS]
    if not ranked:
        return None, 0.0
    top = ranked[0]
    if top.intent == OUT_OF_SCOPE or top.score < model.threshold:
        return None, top.score
    # the next reading the message could have: a destructive one it does not say plainly is
    # no rival ("停机怎么办理" is near "注销终端要怎么办理" but cannot be a deregistration)
    plainly = model.plainly
    runner_up = next((s.score for s in ranked[1:] if plainly.allows(s.intent, folded)), 0.0)
    if top.intent in CAREFUL and (
        top.score < model.destructive_threshold
        or top.score - runner_up < MARGIN
        or sum(c.isalnum() for c in folded) < 2  # "注", "停": one character is not a request
        or not plainly.allows(top.intent, folded)  # "close", "终端怎么办": not said
    ):
        return None, top.score
    return top.intent, top.score


def check_examples(locales_dir: Path, known: set[str], catalog_has: Any) -> list[str]:
    """What is wrong with the intents files, one line each: unreadable YAML, an unknown intent,
    an example that is not text, an FAQ topic without its answer, a locale without a file or
    without an intent another locale has. ``catalog_has(locale, key)`` says whether a message
    exists; ``known`` is every intent the engine can act on."""
    problems: list[str] = []
    seen: dict[str, set[str]] = {}
    for locale_dir in sorted(p for p in locales_dir.iterdir() if p.is_dir()):
        path = locale_dir / INTENTS_FILE
        where = f"locales/{locale_dir.name}/{INTENTS_FILE}"
        if not path.exists():
            problems.append(f"{where}: missing (examples of what merchants write)")
            continue
        try:
            data = load_examples(path)
        except (yaml.YAMLError, ValueError) as exc:
            problems.append(f"{where}: {exc}")
            continue
        intents = data.get("intents")
        if not isinstance(intents, dict) or not intents:
            problems.append(f"{where}: no 'intents'")
            continue
        seen[locale_dir.name] = {str(name) for name in intents}
        for name, texts in intents.items():
            if not isinstance(name, str):
                problems.append(f'{where}: intent {name!r} is not a name (quote it: "{name}")')
                continue
            if name != OUT_OF_SCOPE and name not in known and not name.startswith("faq."):
                problems.append(f"{where}: unknown intent '{name}' (known: {sorted(known)})")
            if name.startswith("faq.") and not catalog_has(locale_dir.name, f"{name}.a"):
                problems.append(f"{where}: '{name}' has no answer '{name}.a' in messages.po")
            if not isinstance(texts, list) or not texts:
                problems.append(f"{where}: '{name}' has no examples")
                continue
            for text in texts:
                if not isinstance(text, str) or not text.strip():
                    problems.append(f"{where}: '{name}' example {text!r} is not text (quote it)")
        problems.extend(f"{where}: {p}" for p in check_plainly(data.get("plainly"), set(CAREFUL)))
        if not isinstance(data.get("questions") or [], list):
            problems.append(f"{where}: 'questions' must be a list of text")
        for key in ("aliases",):
            table = data.get(key) or {}
            if not isinstance(table, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in table.items()
            ):
                problems.append(f"{where}: '{key}' must map text to text (quote yes/no/on/off)")
    every = set().union(*seen.values()) if seen else set()
    for locale, names in seen.items():
        for name in sorted(every - names):
            problems.append(f"locales/{locale}/{INTENTS_FILE}: no examples of '{name}'")
    return problems
