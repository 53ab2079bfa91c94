"""Requests at the manual and e-mail providers moved on from the console: the state (forward
only), the provider's reference and a reason — through ``DeskState.set``, as ``posbot requests
set`` does, then told to the merchant the way status polling tells it (``Runtime``), audited.

Only a request of the conversation whose page it is, only one a desk holds, only a move its
current state allows — checked again when it is written, so two agents at once cannot both move
it from what they each saw."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.bootstrap import App, providers_of
from bot.providers.base import Provider, RequestStatus
from bot.providers.composite import Composite
from bot.providers.desk_state import DeskState
from bot.providers.desks import Desk
from bot.request_states import forward_from

MAX_REFERENCE, MAX_REASON = 100, 200  # as the desk keeps them


@dataclass(frozen=True)
class DeskRequestView:
    ticket: str
    desk: str  # manual, email
    state: str
    reference: str | None
    reason: str | None
    moves: tuple[str, ...]  # the states it may be moved to by hand


def desk_state_of(provider: Provider) -> DeskState | None:
    """Where the manual and e-mail providers keep their requests (one file for both), if
    ``provider`` is or routes to one of them."""
    for each in providers_of(provider):
        if isinstance(each, Composite) and isinstance(each.desk, Desk):
            return each.desk.state
    return None


def desk_requests(app: App, requests: Iterable[Mapping[str, Any]]) -> list[DeskRequestView]:
    """Those of a conversation's ``requests`` that wait at a desk, as the case page shows them."""
    state = desk_state_of(app.provider)
    if state is None:
        return []
    views = []
    for request in requests:
        found = state.get(str(request["ticket"])) if request.get("ticket") else None
        if found is not None:
            views.append(
                DeskRequestView(
                    found.ticket,
                    found.desk,
                    found.state,
                    found.reference,
                    found.reason,
                    forward_from(found.state),
                )
            )
    return views


async def set_desk_status(
    app: App, agent: str, row: Mapping[str, Any], form: Mapping[str, str]
) -> str | None:
    """Move the desk request the form names; why it could not be done, or None."""
    state = desk_state_of(app.provider)
    if state is None:
        return "no manual or e-mail provider serves this posbot"
    ticket, wanted = form.get("ticket", ""), form.get("state", "")
    reference = form.get("reference", "").strip()
    reason = form.get("reason", "").strip()
    ours = [str(r["ticket"]) for r in app.store.requests_of(int(row["id"])) if r["ticket"]]
    if ticket not in ours:
        return "choose a request of this conversation"
    found = state.get(ticket)
    if found is None:
        return f"{ticket} is not at the manual or e-mail provider"
    if wanted not in forward_from(found.state):
        return f"{ticket} is {found.state}: it cannot be moved to {wanted or 'nothing'}"
    if len(reference) > MAX_REFERENCE or len(reason) > MAX_REASON:
        return f"a reference is at most {MAX_REFERENCE} characters, a reason {MAX_REASON}"
    moved = state.set(
        ticket, wanted, reason=reason or None, reference=reference or None, only_from=found.state
    )
    if moved is None:
        return f"{ticket} was moved meanwhile; look again"
    detail = {"ticket": ticket, "from": found.state, "state": wanted, "reference": reference}
    app.store.record_audit(agent, "desk_status", int(row["id"]), json.dumps(detail))
    # told now, as status polling would tell it a moment later (which then finds nothing new)
    app.runtime.status_reported(RequestStatus(ticket, moved.state, moved.reason))  # type: ignore[arg-type]
    return None
