"""ask: one slot typed by the merchant, normalised and validated, with a bounded number of tries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from bot.engine.steps.base import Step
from bot.validation import Invalid, Valid, inspect, mask_identifiers

if TYPE_CHECKING:
    from bot.engine.turn import Turn

SENSITIVE_MARK = "[one-time code]"


class Ask(Step):
    kind: ClassVar[str] = "ask"
    interactive: ClassVar[bool] = True
    shields_itself: ClassVar[bool] = True

    slot: str
    prompt: str
    validator: str
    retries: int | None = None  # tries before giving up; the flow's default when unset
    on_exhausted: str | None = None  # where to go then; a handoff to a person when unset
    sensitive: bool = False  # never store what the merchant typed in clear
    card_like: bool = False  # a long Luhn-valid number is a fair answer here (merchant numbers)
    # offer "share my phone number" where the platform has it; a number the platform vouches is
    # the sender's own is recorded in this slot as proof of control (a typed one clears it)
    contact: str | None = None

    def enter(self, turn: Turn) -> None:
        if self.sensitive:  # asked for a code: one is outstanding until it is checked
            turn.state.code_outstanding = True
        turn.say(self.prompt, share_phone="button.share_phone" if self.contact else None)

    def handle(self, turn: Turn, text: str, value: str | None) -> None:
        if self.sensitive:
            turn.inbound_text = SENSITIVE_MARK
        if value is not None:  # an old button tapped again: not an answer, and no try used
            self.enter(turn)
            return
        # words around a code or a password are never an answer ("my password is hunter22"
        # would pass as a serial), nor is a card number — except where the flow expects a
        # long number (card_like): a merchant number may happen to pass the card check
        finding = None if self.sensitive else turn.finding
        if finding is not None and (finding.kinds - {"card"} or not self.card_like):
            turn.shield()
            return
        result = turn.validate(self.validator, value or text)
        if not isinstance(result, Invalid):
            if finding is not None:  # a long number the flow expects here: masked, not a card
                masked = mask_identifiers(text)
                turn.inbound_text = turn.inbound_text if inspect(masked) else masked
            turn.state.retries.pop(self.id, None)
            changed = turn.state.slots.get(self.slot) != result.value
            turn.state.slots[self.slot] = result.value
            if self.contact:
                self._record_proof(turn, result.value)
            turn.goto(turn.return_target(changed=changed) or turn.next_of(self))
            return
        if finding is not None and turn.shield():
            return
        params: dict[str, Any] = dict(result.params)
        tries = turn.state.retries.get(self.id, 0) + 1
        turn.state.retries[self.id] = tries
        limit = self.retries if self.retries is not None else turn.flow.retries
        if tries >= limit:
            turn.state.retries.pop(self.id, None)
            if self.on_exhausted:
                turn.say(result.key, **params)
                turn.goto(self.on_exhausted)
            else:
                turn.handoff("retries", "handoff.retries", first=(result.key, params))
            return
        turn.say(result.key, "retry.left", left=limit - tries, **params)

    def _record_proof(self, turn: Turn, phone: str) -> None:
        """The shared contact's number, when it is the answer and the sender's own, proves
        control of it; anything else (typed, someone else's contact) proves nothing."""
        assert self.contact is not None
        vouched = turn.vouched_phone
        if vouched is not None and turn.validate(self.validator, vouched["phone"]) == Valid(phone):
            turn.state.slots[self.contact] = {"method": vouched["method"], "phone": phone}
        else:
            turn.state.slots[self.contact] = None

    def targets(self) -> Iterator[str]:
        yield from super().targets()
        if self.on_exhausted:
            yield self.on_exhausted

    def message_keys(self) -> Iterator[str]:
        yield from super().message_keys()
        yield self.prompt
        if self.contact:
            yield "button.share_phone"
