"""branch: go where the first true condition says (sandboxed Jinja2 expressions over the slots)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict

from bot.engine.steps.base import Step

if TYPE_CHECKING:
    from bot.engine.turn import Turn


class Case(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    when: str
    next: str


class Branch(Step):
    kind: ClassVar[str] = "branch"
    cases: tuple[Case, ...]
    otherwise: str | None = None

    def enter(self, turn: Turn) -> None:
        for case in self.cases:
            if turn.evaluate(case.when):
                turn.goto(case.next)
                return
        turn.goto(self.otherwise or turn.next_of(self))

    def targets(self) -> Iterator[str]:
        yield from super().targets()
        yield from (case.next for case in self.cases)
        if self.otherwise:
            yield self.otherwise

    def expressions(self) -> Iterator[str]:
        yield from (case.when for case in self.cases)
