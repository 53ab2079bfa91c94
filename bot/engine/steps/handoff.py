"""handoff: the conversation waits for a person; the merchant is told so."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from bot.engine.steps.base import Step

if TYPE_CHECKING:
    from bot.engine.turn import Turn


class Handoff(Step):
    kind: ClassVar[str] = "handoff"
    message: str
    reason: str = "requested"

    def enter(self, turn: Turn) -> None:
        turn.handoff(self.reason, self.message)

    def targets(self) -> Iterator[str]:
        yield from ()

    def message_keys(self) -> Iterator[str]:
        yield from super().message_keys()
        yield self.message
