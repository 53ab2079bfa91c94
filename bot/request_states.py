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

# how far on its review each state is: a status never moves a request back (needs_info and
# under_review go back and forth, so they stand level)
STAGE: dict[str, int] = {
    FILING: -1,
    "submitted": 0,
    "under_review": 1,
    "needs_info": 1,
    "approved": 2,
    "completed": 3,
    "rejected": 3,
    "cancelled": 3,
}


def forward_from(state: str) -> tuple[RequestState, ...]:
    """The states a request in ``state`` may be moved to by hand: on, or level (more
    information asked for, then the review again); none once it is final."""
    if state in FINAL_STATES or state not in STAGE:
        return ()
    return tuple(s for s in REQUEST_STATES if s != state and STAGE[s] >= STAGE[state])
