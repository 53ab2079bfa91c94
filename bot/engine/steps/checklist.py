"""checklist: items answered one by one — done, how-to, or skip after a warning."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from bot.engine.events import Attachment
from bot.engine.steps.base import Step, tag, untag

if TYPE_CHECKING:
    from bot.engine.turn import Turn

DONE, HOW, SKIP, EXPORT, ALL = "done", "how", "skip", "export", "all"


class Item(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    label: str  # message key
    how: str  # message key: how to do it
    warn: str  # message key: what skipping it risks
    when: str | None = None  # condition; the item is left out when false
    export: bool = False  # the provider can hand the records over in chat


class Checklist(Step):
    kind: ClassVar[str] = "checklist"
    interactive: ClassVar[bool] = True

    intro: str | None = None
    items: tuple[Item, ...]
    slot: str = "checklist"

    def enter(self, turn: Turn) -> None:
        todo = [item.id for item in self.items if item.when is None or turn.evaluate(item.when)]
        turn.state.cursor = {"todo": todo, "at": 0}
        turn.state.slots.setdefault(self.slot, {})
        if self.intro:
            labels = [turn.text(i.label) for i in self.items if i.id in todo]
            turn.say(self.intro, total=len(todo), items=labels)
        self._ask(turn)

    def handle(self, turn: Turn, text: str, value: str | None) -> None:
        item = self._current(turn)
        if item is None:
            turn.goto(turn.next_of(self))
            return
        if value is not None:
            value = untag(value, item.id)
            if value is None:  # a button of an earlier item: not this one
                self._ask(turn)
                return
        answer = turn.match(text, value, [(v, label) for label, v in self._offered(turn, item)])
        cursor = turn.state.cursor
        if answer == DONE:
            self._record(turn, item, "done")
        elif answer == ALL and cursor.get("at", 0) == 0:  # every item done, said at once
            for remaining in cursor["todo"]:
                turn.state.slots[self.slot][remaining] = "done"
            cursor["at"] = len(cursor["todo"])
            self._ask(turn)
        elif answer == HOW:
            turn.say(item.how)
            self._ask(turn)
        elif answer == EXPORT and item.export:
            turn.emit(
                "export_records", {k: turn.state.slots.get(k) for k in ("merchant_id", "serial")}
            )
        elif answer == SKIP and cursor.get("skipping") == item.id:
            self._record(turn, item, "skipped")
        elif answer == SKIP:
            cursor["skipping"] = item.id
            turn.say(
                item.warn,
                buttons=[
                    ("button.skip_anyway", tag(SKIP, item.id)),
                    ("button.done", tag(DONE, item.id)),
                ],
            )
        else:
            turn.say("choice.unknown")
            self._ask(turn)

    def reprompt(self, turn: Turn) -> None:
        if "todo" not in turn.state.cursor:  # the progress is gone (a person took over)
            self.enter(turn)
            return
        turn.state.cursor.pop("skipping", None)
        self._ask(turn)

    def on_help(self, turn: Turn) -> None:
        item = self._current(turn)
        if item is None or turn.state.status != "active":
            super().on_help(turn)
            return
        turn.say(item.how)
        self._ask(turn)

    def on_back(self, turn: Turn) -> bool:
        cursor = turn.state.cursor
        if turn.state.status != "active" or cursor.get("at", 0) == 0:
            return False
        cursor["at"] -= 1  # the previous item, asked again; its answer will be replaced
        cursor.pop("skipping", None)
        self._ask(turn)
        return True

    def on_result(self, turn: Turn, outcome: str, data: dict[str, Any]) -> None:
        if outcome == "exported":
            files = [
                Attachment(f["name"], f["content_type"], base64.b64decode(f["data"]))
                for f in data.get("files", ())
            ]
            turn.say("checklist.exported", attachments=files)
        else:
            turn.say("checklist.export_unavailable")
        self._ask(turn)

    def _record(self, turn: Turn, item: Item, answer: str) -> None:
        turn.state.slots[self.slot][item.id] = answer
        turn.state.cursor.pop("skipping", None)
        turn.state.cursor["at"] += 1
        self._ask(turn)

    def _current(self, turn: Turn) -> Item | None:
        cursor = turn.state.cursor
        todo: list[str] = cursor.get("todo", [])
        at: int = cursor.get("at", 0)
        if at >= len(todo):
            return None
        return next(item for item in self.items if item.id == todo[at])

    def _ask(self, turn: Turn) -> None:
        item = self._current(turn)
        if item is None:
            turn.goto(turn.next_of(self))
            return
        cursor = turn.state.cursor
        turn.say(
            "checklist.item",
            buttons=[(label, tag(value, item.id)) for label, value in self._offered(turn, item)],
            n=cursor["at"] + 1,
            total=len(cursor["todo"]),
            item=turn.text(item.label),
        )

    def _offered(self, turn: Turn, item: Item) -> list[tuple[str, str]]:
        """The item's buttons; on the first of several, "all done" too (the list was just
        shown: a merchant who has done it all says so once)."""
        buttons = self._buttons(item)
        cursor = turn.state.cursor
        if cursor.get("at", 0) == 0 and len(cursor.get("todo", ())) > 1:
            buttons.append(("button.all_done", ALL))
        return buttons

    @staticmethod
    def _buttons(item: Item) -> list[tuple[str, str]]:
        buttons = [("button.done", DONE), ("button.how", HOW), ("button.skip", SKIP)]
        if item.export:
            buttons.insert(1, ("button.export", EXPORT))
        return buttons

    def message_keys(self) -> Iterator[str]:
        yield from super().message_keys()
        if self.intro:
            yield self.intro
        for item in self.items:
            yield from (item.label, item.how, item.warn)
        yield from ("checklist.item", "checklist.exported", "checklist.export_unavailable")
        yield from ("button.done", "button.how", "button.skip", "button.skip_anyway")
        yield "button.export"
        yield "button.all_done"

    def expressions(self) -> Iterator[str]:
        yield from (item.when for item in self.items if item.when)
