"""Folding what merchants type into one shape before matching: full-width → half-width (NFKC),
traditional → simplified (OpenCC's t2s tables, shipped inside the package), lower case, the
locale's aliases (typos, abbreviations: "pos机", "刷卡机", "cancle"), numbers and serials → one
token."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from bot.validation import normalize

NUMBER = "#"  # every run of digits (a phone, an amount, "180 天") folds to one mark
_DIGITS = re.compile(r"\d+", re.ASCII)
# a serial or a code of letters and digits ("lkl8a2301234", "sn123"): one mark too
_SERIAL = re.compile(r"(?<![a-z])[a-z]+\d[a-z\d]*", re.ASCII)
# what is neither a letter, a digit, a CJK character nor an emoji: separators, not meaning
_NOISE = re.compile(r"[\s!\"$%&'()*+,\-./:;<=>@\[\\\]^_`{|}~·…。，、！？：；“”‘’（）【】《》]+")


@lru_cache(maxsize=1)
def _converter() -> object:
    import opencc  # imported on first use: a process that never reads free text never loads it

    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """Traditional characters as simplified ones (註銷 → 注销, 機身號 → 机身号); ASCII as is."""
    if text.isascii():
        return text
    return str(_converter().convert(text))  # type: ignore[attr-defined]


class Folder:
    """Folds text with one locale's aliases; built once, used for every message."""

    def __init__(self, aliases: Mapping[str, str], fillers: Iterable[str] = ()) -> None:
        folded = {
            simplified(normalize(k)).lower(): simplified(normalize(v)).lower()
            for k, v in aliases.items()
        }
        self._aliases = folded
        keys = sorted(folded, key=len, reverse=True)  # the longest first: "pos机" before "pos"
        self._pattern = re.compile("|".join(_alias_pattern(k) for k in keys)) if keys else None
        # politeness and particles ("请问", "麻烦", "啊", "pls"): dropped when words remain
        words = sorted({simplified(normalize(f)).lower() for f in fillers if f}, key=len)[::-1]
        self._fillers = re.compile("|".join(_alias_pattern(w) for w in words)) if words else None

    def fold(self, text: str) -> str:
        text = simplified(normalize(text)).lower()
        if self._pattern is not None:
            text = self._pattern.sub(lambda m: self._aliases[m.group(0)], text)
        text = _DIGITS.sub(NUMBER, _SERIAL.sub(NUMBER, text))
        text = " ".join(_NOISE.sub(" ", text).split())
        if self._fillers is not None:
            bare = " ".join(self._fillers.sub(" ", text).split())
            text = bare or text
        return text


def _alias_pattern(alias: str) -> str:
    """An ASCII alias matches whole words only ("ok" not inside "book"); others anywhere."""
    escaped = re.escape(alias)
    if alias.isascii() and alias[:1].isalnum() and alias[-1:].isalnum():
        return rf"(?<![a-z0-9]){escaped}(?![a-z0-9])"
    return escaped
