"""Validators for the fields a merchant types: merchant id, terminal serial, phone, OTP.

Every validator is a pure ``Callable[[str], Result]``. Failures carry a locale message key
and its parameters; no user-visible text lives here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

import phonenumbers

from bot.validation.text import compact, normalize

__all__ = [
    "DEFAULT_MERCHANT_ID_PATTERN",
    "MAX_INPUT",
    "Invalid",
    "Result",
    "Valid",
    "Validator",
    "merchant_id",
    "otp",
    "phone",
    "serial",
    "validators",
]


@dataclass(frozen=True, slots=True)
class Valid:
    value: str


@dataclass(frozen=True, slots=True)
class Invalid:
    key: str
    params: Mapping[str, object] = field(default_factory=dict)


Result = Valid | Invalid

# every message key a validator here can answer with: the flow checks require them all
VALIDATOR_KEYS: Final = (
    "invalid.too_long",
    "invalid.merchant_id.empty",
    "invalid.merchant_id.not_digits",
    "invalid.merchant_id.length",
    "invalid.merchant_id.pattern",
    "invalid.serial.empty",
    "invalid.serial.chars",
    "invalid.serial.length",
    "invalid.phone.unparseable",
    "invalid.phone.invalid",
    "invalid.phone.region",
    "invalid.phone.not_mobile",
    "invalid.otp.format",
)
Validator = Callable[[str], Result]

MAX_INPUT: Final = 200
DEFAULT_MERCHANT_ID_PATTERN: Final = r"\d{15}"
_MERCHANT_ID_LENGTH: Final = 15
SERIAL_MIN: Final = 6
SERIAL_MAX: Final = 32
OTP_DIGITS: Final = 6

# A leading label such as "SN:", "手机号：" (normalised to ":") or "code:" -- no digits, no colon.
_COLON_LABEL: Final = re.compile(r"[^\d:]{1,24}:")
# Merchant-id labels, with or without a colon: "商户号：", "merchant no.", "MID:", "商户编号是".
_MERCHANT_LABEL: Final = re.compile(
    r"(?:(?:merchant|mch|mer)\s*(?:no|number|num|id)\b\.?|mid\b|商户(?:编号|号码|号|id)?"
    r"|[^\d:]{1,24}(?=:))\s*[:#]?\s*(?:[是为]\s*)?",
    re.IGNORECASE,
)
# a label typed before the value without a colon: "SN LKL8A2301234", "手机号 138 0013 8000"
_SERIAL_LABEL: Final = re.compile(
    r"(?:s/?n|serial(?:\s*(?:no|number|num)\b\.?)?|机身号|机身编号|序列号|终端号|sn号)"
    r"(?=[\s:#：]|[是为])\s*[:#]?\s*(?:[是为]\s*)?",
    re.IGNORECASE,
)
_PHONE_LABEL: Final = re.compile(
    r"(?:mobile|phone|tel|手机号码|手机号|手机|电话号码|电话)\s*(?:no\b\.?|number)?\s*[:#]?\s*"
    r"(?:[是为]\s*)?",
    re.IGNORECASE,
)
_SERIAL_CHARS: Final = re.compile(r"[A-Z0-9]+")
_OTP: Final = re.compile(f"[0-9]{{{OTP_DIGITS}}}")
_PHONE_SHAPE: Final = re.compile(r"\+?[0-9]{1,20}")
_PHONE_SEPARATORS: Final = str.maketrans("", "", " -().")
_MOBILE_TYPES: Final = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


def _too_long() -> Invalid:
    return Invalid("invalid.too_long", {"max": MAX_INPUT})


def _strip_colon_label(text: str) -> str:
    match = _COLON_LABEL.match(text)
    return text[match.end() :] if match else text


def _is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def merchant_id(pattern: str = DEFAULT_MERCHANT_ID_PATTERN) -> Validator:
    """Validator for a merchant id; ``pattern`` must match the whole compacted id.

    The pattern is compiled with ``re.ASCII`` so ``\\d`` means 0-9 only.
    """
    default = pattern == DEFAULT_MERCHANT_ID_PATTERN
    compiled = re.compile(pattern, re.ASCII)

    def validate(text: str) -> Result:
        if len(text) > MAX_INPUT:
            return _too_long()
        norm = normalize(text)
        label = _MERCHANT_LABEL.match(norm)
        value = compact(norm[label.end() :] if label else norm)
        if not value:
            return Invalid("invalid.merchant_id.empty")
        if default:
            if not _is_ascii_digits(value):
                return Invalid("invalid.merchant_id.not_digits")
            if len(value) != _MERCHANT_ID_LENGTH:
                return Invalid(
                    "invalid.merchant_id.length",
                    {"expected": _MERCHANT_ID_LENGTH, "got": len(value)},
                )
        elif compiled.fullmatch(value) is None:
            return Invalid("invalid.merchant_id.pattern")
        return Valid(value)

    return validate


def serial(text: str) -> Result:
    """Terminal serial number: A-Z/0-9 only, 6..32 characters, returned uppercased."""
    if len(text) > MAX_INPUT:
        return _too_long()
    plain = _strip_colon_label(normalize(text))
    label = _SERIAL_LABEL.match(plain)
    value = compact(plain[label.end() :] if label else plain)
    if not value:
        return Invalid("invalid.serial.empty")
    # Check ASCII before uppercasing: "ß".upper() == "SS" must not sneak through.
    if not value.isascii() or _SERIAL_CHARS.fullmatch(value := value.upper()) is None:
        return Invalid("invalid.serial.chars")
    if not SERIAL_MIN <= len(value) <= SERIAL_MAX:
        return Invalid(
            "invalid.serial.length", {"min": SERIAL_MIN, "max": SERIAL_MAX, "got": len(value)}
        )
    return Valid(value)


def phone(region: str = "CN") -> Validator:
    """Validator for a mobile phone number; national numbers are read in ``region``.

    Raises ``ValueError`` at construction time for an unknown region (a programming error).
    """
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unsupported phone region: {region!r}")

    def validate(text: str) -> Result:
        if len(text) > MAX_INPUT:
            return _too_long()
        plain = _strip_colon_label(normalize(text))
        label = _PHONE_LABEL.match(plain)
        raw = (plain[label.end() :] if label else plain).translate(_PHONE_SEPARATORS)
        if raw.startswith("00"):
            raw = "+" + raw[2:]
        # phonenumbers reads letters as keypad digits ("138ABC"); refuse them up front.
        if _PHONE_SHAPE.fullmatch(raw) is None:
            return Invalid("invalid.phone.unparseable")
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            return Invalid("invalid.phone.unparseable")
        if not (phonenumbers.is_possible_number(number) and phonenumbers.is_valid_number(number)):
            return Invalid("invalid.phone.invalid")
        if phonenumbers.region_code_for_number(number) != region:
            return Invalid("invalid.phone.region")  # a registered phone is a local one
        if phonenumbers.number_type(number) not in _MOBILE_TYPES:
            return Invalid("invalid.phone.not_mobile")
        return Valid(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))

    return validate


_DIGIT_RUNS = re.compile(r"\d+", re.ASCII)


def otp(text: str) -> Result:
    """A one-time code sent by the bot: exactly six digits."""
    if len(text) > MAX_INPUT:
        return _too_long()
    plain = _strip_colon_label(normalize(text))
    value = compact(plain)
    if _OTP.fullmatch(value) is None:
        # "验证码 246810", "my code is 246810": one number of the right length, words around it
        numbers = _DIGIT_RUNS.findall(plain)
        if len(numbers) != 1 or _OTP.fullmatch(numbers[0]) is None:
            return Invalid("invalid.otp.format", {"digits": OTP_DIGITS})
        value = numbers[0]
    return Valid(value)


def validators(
    merchant_id_pattern: str = DEFAULT_MERCHANT_ID_PATTERN, phone_region: str = "CN"
) -> dict[str, Validator]:
    """The validator set for one provider, keyed by field name."""
    return {
        "merchant_id": merchant_id(merchant_id_pattern),
        "serial": serial,
        "phone": phone(phone_region),
        "otp": otp,
    }
