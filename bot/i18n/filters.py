"""Filters the locale messages may use: masking for echoes, money in the merchant's locale."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel.numbers import format_currency
from jinja2 import pass_context
from jinja2.runtime import Context

from bot.validation import mask_merchant_id, mask_phone, mask_serial


@pass_context
def money(context: Context, amount: Any, currency: str = "CNY") -> str:
    locale = context.get("locale", "zh_CN")
    return str(format_currency(Decimal(str(amount)), currency, locale=locale))


FILTERS = {
    "mask_phone": mask_phone,
    "mask_merchant": mask_merchant_id,
    "mask_serial": mask_serial,
    "money": money,
}
