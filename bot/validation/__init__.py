"""Input validation, masking and the scam shield: pure functions, no I/O."""

from bot.validation.fields import (
    DEFAULT_MERCHANT_ID_PATTERN,
    MAX_INPUT,
    VALIDATOR_KEYS,
    Invalid,
    Result,
    Valid,
    Validator,
    merchant_id,
    otp,
    phone,
    serial,
    validators,
)
from bot.validation.identifiers import mask_identifiers
from bot.validation.masking import mask_merchant_id, mask_phone, mask_serial
from bot.validation.shield import Finding, hide_codes, inspect, redact_all, safe_text
from bot.validation.text import compact, normalize

__all__ = [
    "DEFAULT_MERCHANT_ID_PATTERN",
    "MAX_INPUT",
    "VALIDATOR_KEYS",
    "Finding",
    "Invalid",
    "Result",
    "Valid",
    "Validator",
    "compact",
    "hide_codes",
    "inspect",
    "mask_identifiers",
    "mask_merchant_id",
    "mask_phone",
    "mask_serial",
    "merchant_id",
    "normalize",
    "otp",
    "phone",
    "redact_all",
    "safe_text",
    "serial",
    "validators",
]
