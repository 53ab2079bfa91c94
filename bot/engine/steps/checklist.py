"""checklist: first one message with every item, ticked off as the merchant taps them (the
message is updated in place where the platform can), with "all done"; then the items left
unticked one by one — done, how-to, the records export, or skip after a warning."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from bot.engine.events import Attachment, Button
from bot.engine.steps.base import Step, tag, untag

if TYPE_CHECKING:
    from bot.engine.turn import Turn

DONE, HOW, SKIP, EXPORT, ALL, NEXT, TICK = "done", "how", "skip", "export", "all", "next", "tick:"


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

    intro: str = "checklist.intro"  # the whole list, ticks and all
    items: tuple[Item, ...]
    slot: str = "checklist"

    def enter(self, turn: Turn) -> None:
        todo = [item.id for item in self.items if item.when is None or turn.evaluate(item.when)]
        turn.state.cursor = {"todo": todo, "ticked": [], "board": True}
        turn.state.slots.setdefault(self.slot, {})
        self._show_board(turn)

    def handle(self, turn: Turn, text: str, value: str | None) -> None:
        if turn.state.cursor.get("board"):
            self._on_board(turn, text, value)
        else:
            self._on_item(turn, text, value)

    # -- the board: every item in one message, ticked as tapped ----------------------------------

    def _on_board(self, turn: Turn, text: str, value: str | None) -> None:
        if value is not None:
            value = untag(value, self.id)
            if value is None:  # a button of an item asked before (the merchant went back)
                self._show_board(turn)
                return
        cursor = turn.state.cursor
        answer = turn.match(text, value, [(v, label) for label, v in self._board_options(turn)])
        if answer is None:
            turn.say("choice.unknown")
            self._show_board(turn)
        elif answer.startswith(TICK):
            ticked: list[str] = cursor["ticked"]
            item_id = answer[len(TICK) :]
            cursor["ticked"] = (
                [i for i in ticked if i != item_id] if item_id in ticked else [*ticked, item_id]
            )
            self._show_board(turn, in_place=value is not None)
        else:  # all done, or on to the items left unticked
            done = cursor["todo"] if answer == ALL else cursor["ticked"]
            for item_id in done:
                turn.state.slots[self.slot][item_id] = "done"
            left = [i for i in cursor["todo"] if i not in done]
            turn.state.cursor = {"todo": left, "at": 0, "board": False, "ticked": done}
            self._ask(turn)

    def _show_board(self, turn: Turn, *, in_place: bool = False) -> None:
        cursor = turn.state.cursor
        labels = [self._box(turn, item_id, cursor) for item_id in cursor["todo"]]
        buttons = [
            Button(label, value)
            for label, value in zip(labels, self._board_values(cursor), strict=False)
        ]
        buttons += [Button(turn.text(key), tag(v, self.id)) for key, v in self._ends(cursor)]
        turn.say(
            self.intro,
            buttons=buttons,
            in_place=in_place,
            total=len(cursor["todo"]),
            ticked=len(cursor["ticked"]),
            items=labels,
        )

    def _box(self, turn: Turn, item_id: str, cursor: dict[str, Any]) -> str:
        item = self._item(item_id)
        return turn.text(
            "checklist.box", item=turn.text(item.label), ticked=item_id in cursor["ticked"]
        )

    def _board_values(self, cursor: dict[str, Any]) -> list[str]:
        return [tag(f"{TICK}{item_id}", self.id) for item_id in cursor["todo"]]

    @staticmethod
    def _ends(cursor: dict[str, Any]) -> list[tuple[str, str]]:
        """Below the items: "all done", and "continue" to go through those left unticked."""
        ends = [("button.all_done", ALL)]
        if len(cursor["ticked"]) < len(cursor["todo"]):
            ends.append(("button.checklist_next", NEXT))
        return ends

    def _board_options(self, turn: Turn) -> list[tuple[str, str]]:
        """(label key, value) of every board button — an item's label picks its tick."""
        cursor = turn.state.cursor
        items = [(self._item(i).label, f"{TICK}{i}") for i in cursor["todo"]]
        return items + self._ends(cursor)

    # -- then the items left, one by one ---------------------------------------------------------

    def _on_item(self, turn: Turn, text: str, value: str | None) -> None:
        item = self._current(turn)
        if item is None:
            turn.goto(turn.next_of(self))
            return
        if value is not None:
            value = untag(value, item.id)
            if value is None:  # a button of an earlier item: not this one
                self._ask(turn)
                return
        answer = turn.match(text, value, [(v, label) for label, v in self._buttons(item)])
        cursor = turn.state.cursor
        if answer == DONE:
            self._record(turn, item, "done")
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

    def accepts(self, turn: Turn, text: str) -> bool:
        cursor = turn.state.cursor
        if cursor.get("board"):
            options = [(v, label) for label, v in self._board_options(turn)]
        else:
            item = self._current(turn)
            if item is None:
                return True
            options = [(v, label) for label, v in self._buttons(item)]
        return turn.match(text, None, options, understand=False) is not None

    def reprompt(self, turn: Turn) -> None:
        cursor = turn.state.cursor
        if "todo" not in cursor or "ticked" not in cursor:  # the progress is gone (a handoff)
            self.enter(turn)
            return
        if cursor.get("board"):
            self._show_board(turn)
            return
        cursor.pop("skipping", None)
        self._ask(turn)

    def on_help(self, turn: Turn) -> None:
        item = None if turn.state.cursor.get("board") else self._current(turn)
        if item is None or turn.state.status != "active":
            super().on_help(turn)
            return
        turn.say(item.how)
        self._ask(turn)

    def on_back(self, turn: Turn) -> bool:
        cursor = turn.state.cursor
        if turn.state.status != "active" or cursor.get("board", True):
            return False
        if cursor.get("at", 0) == 0:  # the first item left: back to the whole list
            self.enter(turn)
            return True
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
            if files:
                turn.say("checklist.exported", attachments=files)
            if data.get("links"):  # too big for this chat: downloaded from posbot instead
                turn.say(
                    "checklist.export_links",
                    links=[{**link, "size": _size(link["size"])} for link in data["links"]],
                    hours=data.get("link_hours", 24),
                )
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
        return self._item(todo[at])

    def _item(self, item_id: str) -> Item:
        return next(item for item in self.items if item.id == item_id)

    def _ask(self, turn: Turn) -> None:
        item = self._current(turn)
        if item is None:
            turn.goto(turn.next_of(self))
            return
        cursor = turn.state.cursor
        turn.say(
            "checklist.item",
            buttons=[(label, tag(value, item.id)) for label, value in self._buttons(item)],
            n=cursor["at"] + 1,
            total=len(cursor["todo"]),
            item=turn.text(item.label),
        )

    @staticmethod
    def _buttons(item: Item) -> list[tuple[str, str]]:
        buttons = [("button.done", DONE), ("button.how", HOW), ("button.skip", SKIP)]
        if item.export:
            buttons.insert(1, ("button.export", EXPORT))
        return buttons

    def message_keys(self) -> Iterator[str]:
        yield from super().message_keys()
        yield self.intro
        for item in self.items:
            yield from (item.label, item.how, item.warn)
        yield from ("checklist.box", "button.checklist_next")
        yield from ("checklist.item", "checklist.exported", "checklist.export_unavailable")
        yield "checklist.export_links"
        yield from ("button.done", "button.how", "button.skip", "button.skip_anyway")
        yield "button.export"
        yield "button.all_done"

    def expressions(self) -> Iterator[str]:
        yield from (item.when for item in self.items if item.when)


def _size(size: int) -> str:
    """A file's size as a merchant reads it: 380 KB, 62.4 MB (symbols, the same in every
    language)."""
    if size < 1_000_000:
        return f"{max(1, round(size / 1000))} KB"
    return f"{size / 1_000_000:.1f} MB"
