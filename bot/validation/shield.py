"""The scam shield: spot card numbers, verification codes and passwords in a message.

The bot never asks for any of these. When a merchant pastes one anyway, ``inspect`` returns a
``Finding`` whose ``redacted`` text is safe to store; the caller warns the merchant.

All regexes are linear (bounded or unambiguous repetition), so 10 KB inputs are cheap.
Spans are found on the normalised text, resolved by priority (card > code > password) and
replaced in one pass, so one rule never sees another rule's placeholder.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Final

from stdnum import luhn

from bot.validation.text import normalize

__all__ = ["Finding", "inspect", "redact_all"]

CODE_PLACEHOLDER: Final = "[code removed]"
SECRET_PLACEHOLDER: Final = "[secret removed]"
_CARD_MIN, _CARD_MAX = 13, 19
_NEAR: Final = 12  # max characters between a code keyword and its number

# Digit groups joined by single spaces or hyphens: "6222 0212 3456 7890 128".
_RUN: Final = re.compile(r"[0-9]+(?:[ -][0-9]+)*")
_GROUP: Final = re.compile(r"[0-9]+")
_NUMBER: Final = re.compile(r"(?<![0-9])[0-9]{3,8}(?![0-9])")
_ASCII_WORD = r"(?<![A-Za-z]){}(?![A-Za-z])"
_CODE_KEYWORD: Final = re.compile(
    r"(?P<cvv>安全码|" + _ASCII_WORD.format("(?:cvv2?|cvc2?)") + ")"
    r"|验证码|校验码|动态码|短信码|动态密码|口令|"
    + _ASCII_WORD.format(r"(?:verification\s+code|code|otp)"),
    re.IGNORECASE,
)
# Optional glue between a password keyword and the secret: "是", "为", ":", "is", "=".
_GLUE = r"[\s:=]{0,3}(?:(?:is(?![A-Za-z])|是|为)[\s:=]{0,3})?"
_PASSWORD: Final = re.compile(
    r"(?:支付密码|取款密码|(?<!动态)密码|"
    + _ASCII_WORD.format("(?:password|passcode|passwd)")
    + ")"
    + _GLUE
    + r"(?P<tok>[!-~]{4,})",
    re.IGNORECASE,
)
_PIN: Final = re.compile(
    _ASCII_WORD.format("pin") + "(?:码)?" + _GLUE + r"(?P<tok>[0-9]{4,12})(?![0-9])",
    re.IGNORECASE,
)
# English words that often follow "password" and are not the password itself.
_NOT_SECRET_WORDS: Final = (
    "again also change changed does doesn't expired field forgot forgotten from have incorrect "
    "locked login manager please policy protected required reset should that this wrong with "
    "will when"
)
_NOT_SECRETS: Final = frozenset(_NOT_SECRET_WORDS.split())


@dataclass(frozen=True, slots=True)
class Finding:
    kinds: frozenset[str]  # subset of {"card", "code", "password"}
    redacted: str  # the text safe to store


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    kind: str
    replacement: str


def _card_spans(text: str) -> list[_Span]:
    spans: list[_Span] = []
    for run in _RUN.finditer(text):
        groups = [(g.start(), g.end()) for g in _GROUP.finditer(text, run.start(), run.end())]
        i = 0
        while i < len(groups):
            found = _card_at(text, groups, i)
            if found is None:
                i += 1
                continue
            j, digits = found
            spans.append(_Span(groups[i][0], groups[j][1], "card", f"[card ****{digits[-4:]}]"))
            i = j + 1
    return spans


def _card_at(text: str, groups: list[tuple[int, int]], i: int) -> tuple[int, str] | None:
    """Longest Luhn-valid card made of whole groups starting at group ``i``."""
    best: tuple[int, str] | None = None
    digits = ""
    for j in range(i, len(groups)):
        start, end = groups[j]
        # Card groups have 3+ digits (only the last may be shorter): stops "1 2 3 ..." blowups.
        if j > i and groups[j - 1][1] - groups[j - 1][0] < 3:
            break
        digits += text[start:end]
        if len(digits) > _CARD_MAX:
            break
        if len(digits) >= _CARD_MIN and luhn.is_valid(digits):
            best = (j, digits)
    return best


def _code_spans(text: str) -> list[_Span]:
    keywords = list(_CODE_KEYWORD.finditer(text))
    if not keywords:
        return []
    starts = [k.start() for k in keywords]
    ends = [k.end() for k in keywords]
    spans: list[_Span] = []
    for number in _NUMBER.finditer(text):
        start, end = number.span()
        # The nearest keyword ending before the number and the nearest starting after it.
        near: list[re.Match[str]] = []
        before = bisect_right(ends, start) - 1
        if before >= 0 and start - ends[before] <= _NEAR:
            near.append(keywords[before])
        after = bisect_left(starts, end)
        if after < len(keywords) and starts[after] - end <= _NEAR:
            near.append(keywords[after])
        if not near:
            continue
        if end - start == 3 and not any(k.group("cvv") for k in near):
            continue  # three digits only count next to CVV / 安全码
        spans.append(_Span(start, end, "code", CODE_PLACEHOLDER))
    return spans


def _password_spans(text: str) -> list[_Span]:
    spans: list[_Span] = []
    for pattern in (_PASSWORD, _PIN):
        for match in pattern.finditer(text):
            token = match.group("tok")
            if token.lower().rstrip(".,;!?") in _NOT_SECRETS:
                continue
            spans.append(
                _Span(match.start("tok"), match.end("tok"), "password", SECRET_PLACEHOLDER)
            )
    return spans


def _resolve(groups: list[list[_Span]]) -> list[_Span]:
    """Keep spans in priority order, dropping any that overlap an already kept one."""
    kept: list[_Span] = []  # sorted by start, non-overlapping
    starts: list[int] = []
    for spans in groups:
        for span in spans:
            i = bisect_left(starts, span.start)
            if i > 0 and kept[i - 1].end > span.start:
                continue
            if i < len(kept) and kept[i].start < span.end:
                continue
            kept.insert(i, span)
            starts.insert(i, span.start)
    return kept


def inspect(text: str) -> Finding | None:
    """Find sensitive data in ``text``; ``None`` when there is none."""
    norm = normalize(text)
    spans = _resolve([_card_spans(norm), _code_spans(norm), _password_spans(norm)])
    if not spans:
        return None
    parts: list[str] = []
    pos = 0
    for span in spans:
        parts.append(norm[pos : span.start])
        parts.append(span.replacement)
        pos = span.end
    parts.append(norm[pos:])
    return Finding(frozenset(s.kind for s in spans), "".join(parts))


def redact_all(text: str) -> str:
    """The text safe to store: redacted when sensitive, else unchanged."""
    finding = inspect(text)
    return finding.redacted if finding else text
