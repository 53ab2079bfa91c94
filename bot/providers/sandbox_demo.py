"""The sandbox's demo data: the terminals the README lists, their balances, how their reviews end,
and the transactions every export shows."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from bot.providers.base import Balance, Terminal
from bot.request_states import RequestState

DEMO_TERMINALS: tuple[Terminal, ...] = (
    Terminal(
        "102100058120001",
        "LKL8A2301234",
        "+8613800138000",
        merchant_name="示例便利店",
        model="Lakala A8",
    ),
    Terminal("102100058120002", "PAXS90778899", "+8613900139000", model="PAX S90"),
    Terminal(
        "102100058120003",
        "NLD900112233",
        "+8613700137000",
        state="deregistered",
        closed_ticket="SBX-2026-000003",
    ),
    Terminal("102100058120004", "SZZT00445566", "+8613600136000"),
    Terminal("102100058120005", "LDIA00998877", "+8613500135000"),
)
"""The demo rows: clean; money still owed; already deregistered; review rejected; needs info."""

DEMO_BALANCES: Mapping[str, Balance] = {
    "PAXS90778899": Balance(
        unsettled=Decimal("1280.50"),
        pending_refunds=1,
        pending_refund_amount=Decimal("86.00"),
        deposit=Decimal("199.00"),
    ),
}
"""Balances by serial; a terminal not listed owes nothing."""

DEMO_REVIEWS: Mapping[str, tuple[RequestState, str]] = {
    "SZZT00445566": ("rejected", "合同最低使用期未满 / minimum contract term not yet over"),
    "LDIA00998877": ("needs_info", "请补充营业执照照片 / business licence photo needed"),
}
"""How review ends (after two steps) by serial; a terminal not listed is approved."""


DEMO_TXNS: tuple[tuple[str, str, Decimal, str], ...] = (
    ("2026-01-05 09:12:44", "sale", Decimal("35.00"), "6222****1234"),
    ("2026-01-05 13:40:02", "sale", Decimal("128.50"), "6228****5678"),
    ("2026-01-05 18:03:19", "refund", Decimal("-12.00"), "6222****1234"),
    ("2026-01-06 10:27:51", "sale", Decimal("86.00"), "6217****9012"),
)
