"""confirm: echo what was collected; yes goes on, "change the phone" corrects one field only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.engine.steps.base import Step, tag, untag

if TYPE_CHECKING:
    from bot.engine.turn import Turn

YES = "yes"
NO = "no"
EDIT = "edit:"


class Edit(BaseModel):
    """How one field is corrected: the step that asks for it again, and — when the new answer
    differs — where to go instead of coming back (details the provider checked must be
    checked again). Written ``phone: phone`` or ``phone: {ask: phone, changed: verify}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    ask: str
    changed: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, data: Any) -> Any:
        return {"ask": data} if isinstance(data, str) else data


class Confirm(Step):
    kind: ClassVar[str] = "confirm"
    interactive: ClassVar[bool] = True

    message: str
    yes: str  # step id
    yes_label: str = "button.confirm"
    no: str | None = None  # step id; when unset, "no" asks which field to change
    no_label: str = "button.no"
    edit: dict[str, Edit] = Field(default_factory=dict)  # field → how it is corrected

    def enter(self, turn: Turn) -> None:
        turn.say(self.message, buttons=self._tagged())

    def handle(self, turn: Turn, text: str, value: str | None) -> None:
        if value is not None:
            value = untag(value, self.id)
            if value is None:  # a yes/no of an earlier question: ask this one again
                self.enter(turn)
                return
        options = [(v, label) for label, v in self._buttons()]
        value = value or turn.match(text, None, options, understand=False)
        field = value[len(EDIT) :] if value and value.startswith(EDIT) else None
        if field is None and value is None:
            field = turn.match_field(text, self.edit)
        if field is not None and field in self.edit:
            turn.state.return_to = self.id
            turn.goto(self.edit[field].ask)
            return
        answer = value or turn.yes_no(text)
        if answer == YES:
            turn.state.return_to = None
            turn.goto(self.yes)
        elif answer == NO and self.no:
            turn.state.return_to = None
            turn.goto(self.no)
        elif answer == NO:
            turn.say("confirm.which", buttons=self._tagged())
        else:
            # names no button: the ones below are all there is
            turn.say("confirm.unknown", buttons=self._tagged(), edits=bool(self.edit))

    def accepts(self, turn: Turn, text: str) -> bool:
        options = [(v, label) for label, v in self._buttons()]
        return (
            turn.match(text, None, options, understand=False) is not None
            or turn.match_field(text, self.edit) is not None
            or turn.yes_no(text, understand=False) is not None
        )

    def after_edit(self, turn: Turn, edited: str, *, changed: bool) -> str:
        for edit in self.edit.values():
            if edit.ask == edited and changed and edit.changed:
                turn.say("confirm.recheck")
                return edit.changed
        return self.id

    def _tagged(self) -> list[tuple[str, str]]:
        """The buttons as sent: yes and no name this step, so one tapped on an earlier
        message (the details, the balance) never confirms this one (the filing)."""
        return [
            (label, v if v.startswith(EDIT) else tag(v, self.id)) for label, v in self._buttons()
        ]

    def _buttons(self) -> list[tuple[str, str]]:
        buttons = [(self.yes_label, YES)]
        buttons += [(f"button.change.{field}", EDIT + field) for field in self.edit]
        if self.no:
            buttons.append((self.no_label, NO))
        return buttons

    def targets(self) -> Iterator[str]:
        yield from super().targets()
        yield self.yes
        if self.no:
            yield self.no
        for edit in self.edit.values():
            yield edit.ask
            if edit.changed:
                yield edit.changed

    def message_keys(self) -> Iterator[str]:
        yield from super().message_keys()
        yield from (self.message, self.yes_label, "confirm.which", "confirm.unknown")
        if self.no:
            yield self.no_label
        for field in self.edit:
            yield f"button.change.{field}"
            yield f"field.{field}.words"
        if any(edit.changed for edit in self.edit.values()):
            yield "confirm.recheck"
