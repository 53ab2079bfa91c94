"""The scam shield: spot card numbers, resident ID numbers, verification codes and passwords.

The bot never asks for any of these. When a merchant pastes one anyway, ``inspect`` returns a
``Finding`` whose ``redacted`` text is safe to store; the caller warns the merchant.

All regexes are linear (bounded or unambiguous repetition), so 10 KB inputs are cheap.
Spans are found on the normalised text, resolved by priority (ID > card > code > password) and
replaced in one pass, so one rule never sees another rule's placeholder.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Final

from stdnum import luhn
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from bot.validation.identifiers import mask_identifiers, number_groups
from bot.validation.text import normalize

__all__ = ["Finding", "hide_codes", "inspect", "redact_all", "safe_text"]

CODE_PLACEHOLDER: Final = "[code removed]"
SECRET_PLACEHOLDER: Final = "[secret removed]"
ID_PLACEHOLDER: Final = "[ID number removed]"
_CARD_MIN, _CARD_MAX, _AMEX_DIGITS, _GROUP_SIZE = 13, 19, 15, 4
_NEAR: Final = 12  # max characters between a code keyword and its number

# Digit groups joined by single spaces or hyphens: "6222 0212 3456 7890 128".
_RUN: Final = re.compile(r"[0-9]+(?:[ -][0-9]+)*")
# 6 + 8 + 4 characters (region, birth date, sequence and check digit), maybe spaced that way
_RESIDENT_ID: Final = re.compile(
    r"(?<![0-9A-Za-z])([0-9]{6})[ -]?([0-9]{8})[ -]?([0-9]{3}[0-9Xx])(?![0-9A-Za-z])"
)
# six digits, maybe with one separator between any two ("246 810", "246-810"): a one-time code
_LOOSE_CODE: Final = re.compile(r"(?<![0-9])[0-9](?:[ .\-/()]?[0-9]){5}(?![0-9])")
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
    kinds: frozenset[str]  # subset of {"card", "id", "code", "password"}
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
        groups = number_groups(text, run)
        sizes = [end - start for start, end in groups]
        i = 0
        while i < len(groups):
            found = _card_at(text, groups, sizes, i)
            if found is None:
                i += 1
                continue
            j, digits = found
            spans.append(_Span(groups[i][0], groups[j][1], "card", f"[card ****{digits[-4:]}]"))
            i = j + 1
    return spans


def _card_like(digits: str) -> bool:
    """Bank cards have 13–19 digits, start with 2–9 (phones, merchant numbers and the other
    major industries start with 0 or 1), pass Luhn; 15 digits are American Express (34, 37)."""
    return (
        _CARD_MIN <= len(digits) <= _CARD_MAX
        and digits[0] not in "01"
        and (len(digits) != _AMEX_DIGITS or digits[:2] in ("34", "37"))
        and luhn.is_valid(digits)
    )


def _card_at(
    text: str, groups: list[tuple[int, int]], sizes: list[int], i: int
) -> tuple[int, str] | None:
    """The longest card number written as one number from group ``i``: 13–19 digits in one
    go, or in the groups a card is printed in — fours (the last may be shorter), 4-6-5, 4-6-4.
    Numbers that only happen to stand side by side (a merchant number, then a phone) are not
    one card, however their digits add up. A number written after "+" is an international
    phone number (+8613800138000, as Telegram shares a contact), never a card."""
    if text[groups[i][0] - 1 : groups[i][0]] == "+":
        return None
    if sizes[i] != _GROUP_SIZE:
        digits = text[groups[i][0] : groups[i][1]]
        return (i, digits) if _card_like(digits) else None
    best: tuple[int, str] | None = None
    digits = ""
    for j in range(i, len(groups)):
        digits += text[groups[j][0] : groups[j][1]]
        if len(digits) > _CARD_MAX:
            break
        fours = all(size == _GROUP_SIZE for size in sizes[i:j])
        amex = j == i + 2 and sizes[i + 1] == 6 and sizes[j] in (4, 5)
        if (fours or amex) and _card_like(digits):
            best = (j, digits)
        if sizes[j] != _GROUP_SIZE and not (j == i + 1 and sizes[j] == 6):
            break
    return best


def _id_spans(text: str) -> list[_Span]:
    """Chinese resident ID numbers: 18 characters, a birth date inside, a check digit."""
    spans: list[_Span] = []
    for match in _RESIDENT_ID.finditer(text):
        number = "".join(match.groups()).upper()
        if ric.calc_check_digit(number) != number[-1]:
            continue
        try:
            ric.get_birth_date(number)
        except ValidationError:
            continue
        spans.append(_Span(match.start(), match.end(), "id", ID_PLACEHOLDER))
    return spans


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
    spans = _resolve([_id_spans(norm), _card_spans(norm), _code_spans(norm), _password_spans(norm)])
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


def hide_codes(text: str) -> str:
    """``text`` with every six-digit number hidden: what is stored while a one-time code the
    bot sent is outstanding, whatever step the merchant types it at."""
    return _LOOSE_CODE.sub(CODE_PLACEHOLDER, normalize(text))


def safe_text(text: str, *, codes: bool = False) -> str:
    """What may be stored of a merchant's message: the whole text redacted (cards, ID numbers,
    codes, passwords), phone and merchant numbers masked, and — with ``codes``, while a code
    is outstanding — every six-digit number hidden."""
    safe = mask_identifiers(redact_all(text))
    return hide_codes(safe) if codes else safe
