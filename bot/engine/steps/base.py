"""What every step kind shares: an id, where it goes next, and the hooks the engine calls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from bot.engine.turn import Turn


AT = "@"  # a button's value names what it was sent for: "yes@summary", "done@backup_daily"


def tag(value: str, asked_for: str) -> str:
    return f"{value}{AT}{asked_for}"


def untag(value: str, asked_for: str) -> str | None:
    """The answer a tapped value carries — None when it was sent for another question (a
    button of an earlier message, tapped again: it must not answer this one)."""
    answer, _, sent_for = value.partition(AT)
    return None if sent_for and sent_for != asked_for else answer


class Step(BaseModel):
    """A step of a flow. Subclasses set ``kind`` (their YAML key) and override the hooks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClassVar[str] = "step"
    interactive: ClassVar[bool] = False  # waits for the merchant; /back can return here

    id: str
    next: str | None = None
    help: str | None = None  # message key shown on /help at this step

    def enter(self, turn: Turn) -> None:
        """The step became current: say what it says, ask what it asks."""

    def handle(self, turn: Turn, text: str, value: str | None) -> None:
        """The merchant answered (``value`` is a tapped button's value, else None)."""
        self.enter(turn)

    def accepts(self, turn: Turn, text: str) -> bool:
        """Is ``text`` an answer here by the step's own words (an option's number, label or
        words, a valid value)? Free text that is not goes through understanding first: a
        question mid-way is answered from the FAQ, "转人工" hands over."""
        return False

    def answers(self, turn: Turn, text: str) -> bool:
        """Does what ``text`` means (its understood intent) answer this step's question?"""
        return False

    def reprompt(self, turn: Turn) -> None:
        """Ask the current question again (after /help, /status, /lang, a status push) without
        starting the step over: a step with progress of its own keeps it."""
        self.enter(turn)

    def after_edit(self, turn: Turn, edited: str, *, changed: bool) -> str:
        """A correction asked for here was answered at step ``edited``: where to go now."""
        return self.id

    def on_help(self, turn: Turn) -> None:
        """The merchant asked for help here: explain, then ask again."""
        turn.say(self.help or "system.help")
        if self.interactive and turn.state.status == "active":
            self.reprompt(turn)

    def on_back(self, turn: Turn) -> bool:
        """/back said here; True when the step went back within itself."""
        return False

    def on_result(self, turn: Turn, outcome: str, data: dict[str, Any]) -> None:
        """An effect this step asked for came back."""

    def targets(self) -> Iterator[str]:
        """Every step id this step can go to (for the flow checks)."""
        if self.next:
            yield self.next

    def message_keys(self) -> Iterator[str]:
        """Every locale message key this step uses (for the flow checks)."""
        if self.help:
            yield self.help

    def expressions(self) -> Iterator[str]:
        """Every condition expression this step evaluates (for the flow checks)."""
        yield from ()
