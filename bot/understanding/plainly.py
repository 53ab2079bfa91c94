"""What a message must say for a destructive reading: the act named outright ("注销",
"deregister"), or a verb that could mean many things ("退", "close", "remove") put to what it acts
on ("终端", "terminal", "account"). "close", "remove it", "终端怎么办" are near enough to the
examples to score well, but say neither: the bot asks instead of guessing.

Per locale, as data (``plainly:`` in intents.yaml, folded like the examples)::

    plainly:
      objects: [终端, 商户]          # what the acts are put to
      deregister:
        names: [注销, 销户]          # the act itself: enough alone
        acts: [退, 不要]             # enough with one of the objects

An intent without an entry is not held back; terms of Latin script match at a word's start
("temporar" finds "temporarily"), others anywhere."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

OBJECTS = "objects"


class Plainly:
    def __init__(self, spec: Mapping[str, Any], fold: Callable[[str], str]) -> None:
        self._objects = _pattern(spec.get(OBJECTS) or (), fold)
        self._rules: dict[str, tuple[re.Pattern[str] | None, re.Pattern[str] | None]] = {}
        for intent, rule in spec.items():
            if intent != OBJECTS and isinstance(rule, Mapping):
                self._rules[str(intent)] = (
                    _pattern(rule.get("names") or (), fold),
                    _pattern(rule.get("acts") or (), fold),
                )

    def allows(self, intent: str, folded: str) -> bool:
        """Does ``folded`` say ``intent`` plainly enough (always, for an intent with no rule)?"""
        rule = self._rules.get(intent)
        if rule is None:
            return True
        names, acts = rule
        if names is not None and names.search(folded):
            return True
        # an act with no object to put it to says nothing
        objects = self._objects
        return (
            acts is not None
            and objects is not None
            and bool(acts.search(folded) and objects.search(folded))
        )


def _terms(terms: Iterable[object], fold: Callable[[str], str]) -> list[str]:
    folded = {fold(str(term)) for term in terms}
    return sorted((t for t in folded if t), key=len, reverse=True)


def _one(term: str) -> str:
    escaped = re.escape(term)
    return rf"(?<![a-z]){escaped}" if term.isascii() and term[:1].isalpha() else escaped


def _pattern(terms: Iterable[object], fold: Callable[[str], str]) -> re.Pattern[str] | None:
    found = _terms(terms, fold)
    return re.compile("|".join(_one(t) for t in found)) if found else None


def check(spec: object, known: set[str]) -> list[str]:
    """What is wrong with a ``plainly:`` section, one line each; ``known``: the intents it may
    hold back (those read only on a clear match)."""
    if spec is None:
        return []
    if not isinstance(spec, Mapping):
        return ["'plainly' must map intents to {names, acts} (and 'objects' to a list)"]
    problems = []
    for key, rule in spec.items():
        if key == OBJECTS:
            if not _texts(rule):
                problems.append("'plainly.objects' must be a list of text")
        elif key not in known:
            problems.append(f"'plainly' names {key!r}: only {sorted(known)} are held back")
        elif not isinstance(rule, Mapping) or set(rule) - {"names", "acts"}:
            problems.append(f"'plainly.{key}' must have only 'names' and 'acts'")
        elif not all(_texts(rule.get(part) or []) for part in ("names", "acts")):
            problems.append(f"'plainly.{key}': names and acts must be lists of text")
    return problems


def _texts(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
