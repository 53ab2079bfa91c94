"""What an agent enters after checking with the provider (``verify``): the amounts still owed,
read from the case page's form into the shape a provider's balance takes in the conversation
(``bot.effects.balance_data``) — so the flow, the summary and the letter read it alike."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.effects import balance_data
from bot.providers.base import Balance

AMOUNTS = ("unsettled", "pending_refund_amount", "deposit", "fees")
MAX_AMOUNT = Decimal("100000000")


def balance_from_form(form: Mapping[str, str]) -> dict[str, Any] | str:
    """The balance the agent entered, or why it cannot be read."""
    amounts: dict[str, Decimal] = {}
    for name in AMOUNTS:
        text = form.get(name, "").strip() or "0"
        try:
            value = Decimal(text)
        except InvalidOperation:
            return f"{name}: {text!r} is not an amount"
        if not value.is_finite() or value < 0 or value > MAX_AMOUNT:
            return f"{name}: {text!r} is not an amount of 0 or more"
        amounts[name] = value.quantize(Decimal("0.01"))
    refunds = form.get("pending_refunds", "").strip() or "0"
    if not refunds.isdigit() or len(refunds) > 6:
        return f"pending_refunds: {refunds!r} is not a whole number"
    return balance_data(
        Balance(
            unsettled=amounts["unsettled"],
            pending_refunds=int(refunds),
            pending_refund_amount=amounts["pending_refund_amount"],
            deposit=amounts["deposit"],
            fees=amounts["fees"],
        )
    )
