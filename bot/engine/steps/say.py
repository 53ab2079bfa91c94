"""say: tell the merchant something, then go on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from bot.engine.steps.base import Step

if TYPE_CHECKING:
    from bot.engine.turn import Turn


class Say(Step):
    kind: ClassVar[str] = "say"
    message: str

    def enter(self, turn: Turn) -> None:
        turn.say(self.message)
        turn.goto(turn.next_of(self))

    def message_keys(self) -> Iterator[str]:
        yield from super().message_keys()
        yield self.message
