"""Phone numbers and merchant numbers in free text, masked the way the bot echoes them.

What a merchant types is kept in the transcript; ``mask_identifiers`` is what makes that as
private as the bot's own echoes ("138****8000", "1021*******0001"). Pure, linear, never raises.
"""

from __future__ import annotations

import re
from typing import Final

from bot.validation.masking import mask_merchant_id, mask_phone
from bot.validation.text import normalize

__all__ = ["mask_identifiers", "number_groups"]

MERCHANT_DIGITS: Final = 15
_MIN_GROUP: Final = 3  # after the first ("+86"), numbers are written in groups of 3 or more
# digit groups joined by single spaces or hyphens, maybe after a "+": "+86 138-0013-8000"
_RUN: Final = re.compile(r"\+?[0-9]+(?:[ -][0-9]+)*")
_GROUP: Final = re.compile(r"[0-9]+")
# a CN mobile, with or without the country code: 13800138000, 8613800138000, 008613800138000
_CN_MOBILE: Final = re.compile(r"(?:0086|86)?(1[3-9][0-9]{9})")


def _glued(text: str, at: int) -> bool:
    """Is there an ASCII letter at ``at``? Digits glued to letters are a serial ("LKL8A2301234"),
    not a number of their own."""
    return 0 <= at < len(text) and text[at].isascii() and text[at].isalpha()


def number_groups(text: str, run: re.Match[str]) -> list[tuple[int, int]]:
    """The digit groups of ``run`` that stand on their own: a group glued to letters is left out."""
    groups = [g.span() for g in _GROUP.finditer(text, run.start(), run.end())]
    if groups and _glued(text, groups[0][0] - 1):
        groups = groups[1:]
    if groups and _glued(text, groups[-1][1]):
        groups = groups[:-1]
    return groups


def _identifier(digits: str, plus: bool) -> str | None:
    """The masked form of ``digits`` when they are a CN mobile or a merchant number."""
    mobile = _CN_MOBILE.fullmatch(digits)
    if mobile is not None and (not plus or digits.startswith("86")):
        return mask_phone(mobile.group(1))
    if len(digits) == MERCHANT_DIGITS and not plus:
        return mask_merchant_id(digits)
    return None


def _spans(text: str) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    for run in _RUN.finditer(text):
        groups = number_groups(text, run)
        i = 0
        while i < len(groups):
            plus = groups[i][0] > 0 and text[groups[i][0] - 1] == "+"
            best: tuple[int, str] | None = None
            digits = ""
            for j in range(i, len(groups)):
                if j > i and groups[j][1] - groups[j][0] < _MIN_GROUP:
                    break  # "1 2 3 4 ..." is no number anyone writes
                digits += text[groups[j][0] : groups[j][1]]
                if len(digits) > MERCHANT_DIGITS:
                    break
                masked = _identifier(digits, plus)
                if masked is not None:
                    best = (j, masked)
            if best is None:
                i += 1
                continue
            start = groups[i][0] - (1 if plus else 0)
            spans.append((start, groups[best[0]][1], best[1]))
            i = best[0] + 1
    return spans


def mask_identifiers(text: str) -> str:
    """``text`` (normalised) with every CN mobile number and 15-digit merchant number masked.

    >>> mask_identifiers("商户号 102100058120001 手机 +86 138-0013-8000")
    '商户号 1021*******0001 手机 138****8000'
    """
    norm = normalize(text)
    parts: list[str] = []
    pos = 0
    for start, end, masked in _spans(norm):
        parts += [norm[pos:start], masked]
        pos = end
    parts.append(norm[pos:])
    return "".join(parts)
