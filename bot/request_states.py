"""The states a filed request goes through, as every part of posbot names them."""

from __future__ import annotations

from typing import Literal

RequestState = Literal[
    "submitted", "under_review", "approved", "completed", "rejected", "needs_info", "cancelled"
]
REQUEST_STATES: tuple[RequestState, ...] = (
    "submitted",
    "under_review",
    "approved",
    "completed",
    "rejected",
    "needs_info",
    "cancelled",
)
FINAL_STATES: frozenset[str] = frozenset({"completed", "rejected", "cancelled"})
