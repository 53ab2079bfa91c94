"""Hand-offs to a person, kept in the events' own transactions (like ``Guards``):

- a conversation that starts waiting for a person gets a hand-off row, and the merchant hears
  their place in the queue and that the bot stays quiet meanwhile;
- an agent's claim is exclusive — a second agent's claim is refused in the same transaction
  that would apply it (an admin may take over a claimed conversation: reassignment); only the
  agent holding the claim may correct a value or hand the conversation back (an admin may
  without it);
- a conversation that stops waiting or being helped (handed back, closed, /cancel) closes its
  hand-off, with who closed it; the merchant's rating afterwards is kept with it;
- every agent action is written to the audit log, masked."""

from __future__ import annotations

import json
from typing import Any

from bot.engine.events import InboundEvent
from bot.engine.state import HELD, ConversationState
from bot.store.transaction import Tx

AUDITED = {"claim", "release", "handback", "close", "correct", "verify"}


class Handoffs:
    def admit(self, tx: Tx, conversation_id: int | None, event: InboundEvent) -> str | None:
        """Why an agent's action cannot be applied now, or None. Run before the engine."""
        payload = event.payload
        action, agent = payload.get("action"), str(payload.get("agent", ""))
        if conversation_id is None:
            return "no such conversation"
        open_ = tx.open_handoff(conversation_id, for_update=True)
        if action == "claim":
            if open_ is None:
                return "the merchant is not waiting for a person"
            holder = open_["agent"]
            if holder and holder != agent and not payload.get("reassign"):
                return f"held by {holder}"
            return None
        if action in ("handback", "correct", "verify"):  # the agent who holds it, or an admin
            holder = open_["agent"] if open_ is not None else None
            if holder == agent or payload.get("admin"):
                return None
            return f"held by {holder}" if holder else "claim the conversation first"
        if action in ("release", "close") and open_ is not None:
            holder = open_["agent"]
            if holder and holder != agent and not payload.get("reassign"):
                return f"held by {holder}"
        if action in ("release", "close") and open_ is None:
            return "nobody holds this conversation"
        return None

    def after(
        self,
        tx: Tx,
        conversation_id: int,
        event: InboundEvent,
        before: str | None,
        state: ConversationState,
    ) -> int | None:
        """Record what the turn did to the hand-off. Returns how many merchants wait ahead of
        this one when it has just joined the queue (the merchant is told), else None."""
        agent = str(event.payload.get("agent", "")) if event.kind == "agent" else ""
        if event.kind == "agent":
            action = str(event.payload.get("action"))
            if action == "claim":
                tx.claim_handoff(conversation_id, agent)
            elif action == "release":
                tx.claim_handoff(conversation_id, None)
            if action in AUDITED:
                tx.audit(agent, action, conversation_id, _detail(event.payload))
        if before in HELD and state.status not in HELD:
            tx.close_handoff(conversation_id, agent or "merchant")
        if state.flow == "feedback" and state.slots.get("rating"):
            tx.rate_handoff(conversation_id, int(state.slots["rating"]))
        if state.status == "waiting_agent" and before not in HELD:
            reason = str(state.cursor.get("handoff", "requested"))
            return tx.start_handoff(conversation_id, reason)
        return None


def _detail(payload: Any) -> str:
    """What the audit log says of an action: never a collected value in clear."""
    shown = {k: v for k, v in payload.items() if k not in ("agent", "action", "value", "admin")}
    if "value" in payload:
        shown["value"] = "(masked)"
    return json.dumps(shown, ensure_ascii=False, sort_keys=True)
