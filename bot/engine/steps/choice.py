"""choice: buttons; answered by tapping, by number or by (part of) the label."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from bot.engine.steps.base import Step

if TYPE_CHECKING:
    from bot.engine.turn import Turn


class Option(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    value: str
    label: str  # message key
    next: str | None = None  # a step of this flow
    flow: str | None = None  # or a flow to start
    intent: str | None = None  # or a global intent (status, agent)
    set_slots: dict[str, str] = Field(default_factory=dict, alias="set")


class Choice(Step):
    kind: ClassVar[str] = "choice"
    interactive: ClassVar[bool] = True

    prompt: str
    options: tuple[Option, ...]
    slot: str | None = None

    def enter(self, turn: Turn) -> None:
        turn.say(self.prompt, buttons=self._buttons())

    def handle(self, turn: Turn, text: str, value: str | None) -> None:
        chosen = turn.match(text, value, [(o.value, o.label) for o in self.options])
        option = next((o for o in self.options if o.value == chosen), None)
        if option is None:
            turn.say("choice.unknown", buttons=self._buttons())
            return
        changed = bool(self.slot) and turn.state.slots.get(self.slot or "") != option.value
        if self.slot:
            turn.state.slots[self.slot] = option.value
        turn.state.slots.update(option.set_slots)
        if option.flow:
            turn.start_flow(option.flow, dict(option.set_slots))
        elif option.intent:
            turn.intent(option.intent, "")
        else:
            turn.goto(option.next or turn.return_target(changed=changed) or turn.next_of(self))

    def accepts(self, turn: Turn, text: str) -> bool:
        options = [(o.value, o.label) for o in self.options]
        return turn.match(text, None, options, understand=False) is not None

    def answers(self, turn: Turn, text: str) -> bool:
        options = [o.value for o in self.options]
        return turn.meant(text, options) is not None

    def _buttons(self) -> list[tuple[str, str]]:
        return [(o.label, o.value) for o in self.options]

    def targets(self) -> Iterator[str]:
        yield from super().targets()
        yield from (o.next for o in self.options if o.next)

    def message_keys(self) -> Iterator[str]:
        yield from super().message_keys()
        yield self.prompt
        yield from (o.label for o in self.options)
