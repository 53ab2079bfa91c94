"""What a person does to a conversation, as events the engine applies like any other: the
state changes in the conversation's own transaction, and what the merchant is told goes out
through the outbox of their own channel.

- ``claim``: an agent takes the conversation; the bot falls silent (it sends nothing of its own
  while a person helps — status changes of a filed request still arrive).
- ``release``: back into the queue, unanswered.
- ``handback``: the bot resumes at a step of the current flow (or the menu), with the data it has.
- ``close``: the help is over; the merchant is asked to rate it.
- ``correct``: a collected value is corrected (checked like a typed one).
- ``verify``: the agent checked the terminal, the registered phone and what is owed with the
  provider (one posbot cannot check online): the phone counts as proved (``Guards`` records it,
  by the agent), and what is owed is the agent's ``balance``; handing back then goes on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.engine.resume import resume
from bot.validation import Invalid

if TYPE_CHECKING:
    from bot.engine.turn import Turn

FEEDBACK_FLOW = "feedback"
# a proof of control belongs to the number it proved; a corrected phone proves nothing
PROOF_OF = {"phone": "phone_proof"}


def refusal(turn: Turn, payload: Mapping[str, Any]) -> str | None:
    """Why an agent's action does not fit the conversation (an unknown step, a value that does
    not pass its check), or None. The console asks first and shows the reason; the engine
    applies only actions that fit, and changes nothing for one that does not."""
    action = payload.get("action")
    if action == "handback":
        step = payload.get("step")
        if step and step != "menu" and str(step) not in turn.flow.steps:
            return f"no step {step!r} in {turn.flow.id}"
    elif action == "correct":
        slot, value = str(payload.get("slot", "")), str(payload.get("value", ""))
        if slot not in turn.state.slots:
            return f"nothing collected as {slot!r}"
        if slot in turn.engine.validators:
            result = turn.validate(slot, value)
            if isinstance(result, Invalid):
                return turn.text(result.key, **result.params)
    elif action == "verify":
        missing = [n for n in ("merchant_id", "serial", "phone") if not turn.state.slots.get(n)]
        if missing:
            return f"nothing collected as {', '.join(missing)}: nothing to verify"
        balance = payload.get("balance")
        if not isinstance(balance, Mapping) or not isinstance(balance.get("settled"), bool):
            return "what is owed is needed"
    elif action not in ("claim", "release", "close"):
        return f"unknown action {action!r}"
    return None


def on_agent(turn: Turn, payload: Mapping[str, Any]) -> None:
    if refusal(turn, payload) is not None:
        return
    action, agent = str(payload.get("action", "")), str(payload.get("agent", ""))
    state = turn.state
    if action == "claim":
        state.status = "with_agent"
        state.cursor = {**state.cursor, "agent": agent}
        turn.say("agent.joined", agent=agent)
    elif action == "release":
        state.status = "waiting_agent"
        state.cursor = {k: v for k, v in state.cursor.items() if k != "agent"}
    elif action == "handback":
        handback(turn, payload.get("step"))
    elif action == "close":
        turn.say("agent.closed")
        turn.start_flow(FEEDBACK_FLOW, {})
    elif action == "correct":
        correct(turn, str(payload["slot"]), str(payload["value"]))
    elif action == "verify":
        verify(turn, agent, payload["balance"])


def verify(turn: Turn, agent: str, balance: Mapping[str, Any]) -> None:
    """What the agent checked with the provider, as a proof of the phone and a terminal's
    status would have said it (the summary and the letter read it the same way)."""
    slots = turn.state.slots
    slots["phone_proof"] = {"phone": slots["phone"], "method": "agent", "by": agent}
    slots["terminal"] = {"balance": dict(balance), "model": "", "ticket": None, "by": agent}


def handback(turn: Turn, step: object) -> None:
    """Back to the bot at ``step``: at the step the merchant was at, on from there with its
    progress (see ``resume``); at another, that step afresh; "menu", the menu."""
    if step == turn.state.step and resume(turn, "agent.handed_back"):
        return
    turn.say("agent.handed_back")
    turn.state.status = "active"
    turn.state.awaiting = None
    if not step or step == "menu":
        turn.go_home()
        return
    turn.goto(str(step), remember=False)


def correct(turn: Turn, slot: str, value: str) -> None:
    checked = value
    if slot in turn.engine.validators:
        result = turn.validate(slot, value)
        checked = value if isinstance(result, Invalid) else result.value
    if turn.state.slots[slot] != checked and slot in PROOF_OF:
        turn.state.slots[PROOF_OF[slot]] = None
    turn.state.slots[slot] = checked
