"""Out of a hand-off and back to the bot, where the merchant was, with what they entered.

While a person is awaited or helps (``HELD``), the cursor holds the hand-off's reason and, under
``KEPT``, the progress the step had (a checklist's ticks and item); the slots are never touched.
Leaving the queue (/cancel, 取消) or an agent's hand-back to the step the merchant was at carries
on from there: the same step with its progress, or — when that step was the hand-off itself or
a call to the provider — the last question the merchant answered (not a one-time code's: the
code may be spent or locked by now; confirming the details again sends a fresh one); a call
with no question before it (the history sealed) is made again. Only in the home flow, or with
nowhere to carry on, does the merchant go to the menu."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.engine.state import HELD

if TYPE_CHECKING:
    from bot.engine.turn import Turn

KEPT = "kept"  # the step's own progress, set aside while a person is awaited


def hold(turn: Turn, reason: str) -> None:
    """The conversation waits for a person: the step's progress is set aside, not dropped."""
    state = turn.state
    kept: dict[str, Any] = state.cursor.get(KEPT, {}) if state.status in HELD else state.cursor
    state.status = "waiting_agent"
    state.awaiting = None
    state.cursor = {"handoff": reason, KEPT: kept}


def resume(turn: Turn, message: str) -> bool:
    """Say ``message`` and carry on where the merchant was; False (nothing said, nothing
    changed) when there is nowhere to carry on: the home flow, or no step to return to."""
    state = turn.state
    step = turn.step
    target = _target(turn)
    if target is None:
        return False
    kept = dict(state.cursor.get(KEPT, {}))
    state.status = "active"
    state.awaiting = None
    turn.say(message)
    if target == step.id and step.interactive:
        state.cursor = kept
        step.reprompt(turn)  # a checklist at its item, with its ticks
        return True
    if target in state.history:  # back to a question asked before: as /back would
        state.history = state.history[: len(state.history) - state.history[::-1].index(target) - 1]
    state.cursor = {}
    turn.goto(target, remember=False)
    return True


def _target(turn: Turn) -> str | None:
    if turn.flow.id == turn.engine.flows.home:
        return None
    step = turn.step
    if step.interactive:
        return step.id
    for previous_id in reversed(turn.state.history):  # the hand-off was a step of its own,
        previous = turn.flow.steps.get(previous_id)  # or came during a call to the provider
        # a code question is no place to come back to: its code may be spent, or locked
        if previous is not None and previous.interactive and not getattr(previous, "sensitive", 0):
            return previous.id
    return step.id if step.kind == "action" else None
