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

# posbot's own state of a request it has started to file and whose answer it has not recorded
# yet: the terminal is taken, /status says it is being filed, a restart files it again under the
# same idempotency key
FILING = "filing"
