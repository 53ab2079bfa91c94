"""ask: one slot typed by the merchant, normalised and validated, with a bounded number of tries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from bot.engine.steps.base import Step
from bot.understanding.slots import LABELS
from bot.validation import Invalid, Valid, inspect, mask_identifiers, normalize

if TYPE_CHECKING:
    from bot.engine.turn import Turn

SENSITIVE_MARK = "[one-time code]"


def attempt(text: str) -> bool:
    """Could ``text`` be a try at a typed answer (a number, a serial)? One with a digit, or one
    word with Latin letters, is; words without a digit ("nice weather today"), a question in
    Chinese, "[语音]", an emoji are not. An empty one is (it is told "cannot be empty")."""
    plain = normalize(text)
    if not plain or any(c.isascii() and c.isdigit() for c in plain):
        return True
    return " " not in plain and any(c.isascii() and c.isalpha() for c in plain)


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
        prefilled = turn.state.prefilled
        if self.id in prefilled:  # answered ahead, in a message with several answers
            turn.state.prefilled = [step for step in prefilled if step != self.id]
            if turn.state.slots.get(self.slot) is not None:
                turn.goto(turn.next_of(self))
                return
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
            self._accept(turn, text, result.value)
            return
        if not self.sensitive and finding is None:
            if self._take_found(turn, text):
                return
            if not attempt(text):  # a question, "[语音]", a sticker: no try used
                turn.say("understanding.not_an_answer")
                self.enter(turn)
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

    def accepts(self, turn: Turn, text: str) -> bool:
        if self.sensitive:
            return True  # a code question: nothing typed there is read for meaning
        result = turn.validate(self.validator, text)
        return not isinstance(result, Invalid) or bool(turn.understand(text).slots)

    def _accept(self, turn: Turn, text: str, value: Any) -> None:
        if turn.finding is not None:  # a long number the flow expects here: masked, not a card
            masked = mask_identifiers(text)
            turn.inbound_text = turn.inbound_text if inspect(masked) else masked
        turn.state.retries.pop(self.id, None)
        changed = turn.state.slots.get(self.slot) != value
        turn.state.slots[self.slot] = value
        if self.contact:
            self._record_proof(turn, value)
        turn.goto(turn.return_target(changed=changed) or turn.next_of(self))

    def _take_found(self, turn: Turn, text: str) -> bool:
        """Numbers in the message that answer this question or others of the flow: every one
        is kept for its question (answered ahead, skipped when reached); True when any was."""
        found = turn.understand(text).slots
        if not found:
            return False
        asks: dict[str, Ask] = {}
        for step in turn.flow.steps.values():
            if isinstance(step, Ask) and not step.sensitive:
                asks.setdefault(step.validator, step)
        mine = found.get(self.validator)
        others = {v: found[v] for v in found if v != self.validator and v in asks}
        if turn.state.return_to is not None:
            others = {}  # a correction from the confirmation: this answer only
        if mine is None and not others:
            return False
        for validator, found_value in others.items():
            step = asks[validator]
            turn.state.slots[step.slot] = found_value
            if step.contact:
                turn.state.slots[step.contact] = None  # typed: proves nothing
            if step.id not in turn.state.prefilled:
                turn.state.prefilled = [*turn.state.prefilled, step.id]
        if mine is not None:
            self._accept(turn, text, mine)
        else:
            turn.say(*(f"understanding.kept_for.{v}" for v in others))
            self.enter(turn)
        return True

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
        if not self.sensitive:
            yield "understanding.not_an_answer"
            if self.validator in LABELS:  # found in a message at another question: kept for this
                yield f"understanding.kept_for.{self.validator}"
        if self.contact:
            yield "button.share_phone"
