"""Masking for identifiers shown back to the merchant or written to logs. Never raises."""

from __future__ import annotations

import re
from typing import Final

import phonenumbers

from bot.validation.text import compact

__all__ = ["mask_merchant_id", "mask_phone", "mask_serial"]

_E164: Final = re.compile(r"\+[0-9]{4,17}")


def _keep_ends(value: str, head: int, tail: int) -> str:
    hidden = len(value) - head - tail
    if hidden <= 0:
        return value
    return value[:head] + "*" * hidden + value[len(value) - tail :]


def _mask(value: str, head: int, tail: int, short_tail: int) -> str:
    """Keep ``head`` + ``tail`` chars when that still hides something, else only ``short_tail``."""
    if len(value) > head + tail:
        return _keep_ends(value, head, tail)
    return _keep_ends(value, 0, short_tail)


def _national_number(value: str) -> str:
    if _E164.fullmatch(value):
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            return value[1:]
        national = phonenumbers.national_significant_number(number)
        if national:
            return national
        return value[1:]
    return value.lstrip("+")


def mask_phone(e164_or_digits: str) -> str:
    """``"+8613800138000"`` -> ``"138****8000"``; short or odd input keeps only the last 4."""
    return _mask(_national_number(compact(e164_or_digits)), 3, 4, 4)


def mask_merchant_id(s: str) -> str:
    """``"102100058120001"`` -> ``"1021*******0001"``; under 9 chars keeps only the last 2."""
    return _mask(compact(s), 4, 4, 2)


def mask_serial(s: str) -> str:
    """``"LKL8A2301234"`` -> ``"LKL8****1234"``; under 9 chars keeps only the last 2."""
    return _mask(compact(s), 4, 4, 2)
