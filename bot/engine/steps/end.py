"""end: the flow is over; the conversation waits for the next thing the merchant wants."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from bot.engine.steps.base import Step

if TYPE_CHECKING:
    from bot.engine.turn import Turn


class End(Step):
    kind: ClassVar[str] = "end"
    message: str | None = None

    def enter(self, turn: Turn) -> None:
        if self.message:
            turn.say(self.message)
        turn.state.status = "done"

    def handle(self, turn: Turn, text: str, value: str | None) -> None:
        turn.intent("start", "")

    def targets(self) -> Iterator[str]:
        yield from ()

    def message_keys(self) -> Iterator[str]:
        yield from super().message_keys()
        if self.message:
            yield self.message
