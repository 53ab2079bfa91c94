"""action: ask the runtime to call the provider, wait for the outcome, go where it says."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ConfigDict, Field

from bot.engine.events import Attachment
from bot.engine.steps.base import Step
from bot.request_states import FILING

if TYPE_CHECKING:
    from bot.engine.turn import Turn


class Action(Step):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    kind: ClassVar[str] = "action"

    call: str
    params: tuple[str, ...] = Field(default=(), alias="with")  # slot names passed to the call
    save_as: str | None = None  # slot that keeps the outcome's data
    on: dict[str, str] = Field(default_factory=dict)  # outcome → step id
    otherwise: str | None = None  # step id for outcomes not listed in ``on``
    wait: str | None = None  # message key said while the call runs
    forget: tuple[str, ...] = ()  # slots handed to the call and then dropped (one-time codes)
    retry_on: tuple[str, ...] = ()  # outcomes that count as a failed try (e.g. no_match)
    retries: int | None = None  # failed tries allowed; the flow's default when unset
    on_exhausted: str | None = None  # where to go after them; a handoff when unset
    seal_on: tuple[str, ...] = ()  # outcomes after which /back cannot return before this step

    def enter(self, turn: Turn) -> None:
        if self.wait:
            turn.say(self.wait)
        turn.emit(
            self.call,
            {name: turn.state.slots.get(name) for name in self.params},
            secret=self.forget,
        )
        for name in self.forget:
            turn.state.slots.pop(name, None)

    def handle(self, turn: Turn, text: str, value: str | None) -> None:
        turn.say("system.busy")

    def on_result(self, turn: Turn, outcome: str, data: dict[str, Any]) -> None:
        if self.forget:  # the code it took is answered for: none is outstanding any more
            turn.state.code_outstanding = False
        letter = data.pop("letter", None)  # a file: said with the next reply, never kept
        if letter:
            turn.pending_files.append(
                Attachment(letter["name"], letter["content_type"], base64.b64decode(letter["data"]))
            )
        if self.save_as:
            turn.state.slots[self.save_as] = data
        if self.call == "submit" and outcome == "filed":
            turn.track_request(data["ticket"], str(turn.state.slots.get("kind", "")), data["state"])
        elif self.call == "submit" and outcome == "unavailable":  # it keeps being filed
            turn.track_request("", str(turn.state.slots.get("kind", "")), FILING)
        if outcome in self.seal_on:
            turn.state.history = []  # /back cannot reopen what is done (verified, filed)
        if outcome in self.retry_on:
            # failed tries survive /restart: guessing a merchant's details is not free
            tries = turn.state.failures.get(self.id, 0) + 1
            turn.state.failures[self.id] = tries
            if tries >= (self.retries if self.retries is not None else turn.flow.retries):
                if self.on_exhausted:
                    turn.goto(self.on_exhausted)
                else:
                    turn.handoff("retries", "handoff.retries")
                return
        else:
            turn.state.failures.pop(self.id, None)
        turn.goto(self.on.get(outcome) or self.otherwise or turn.next_of(self))

    def targets(self) -> Iterator[str]:
        yield from super().targets()
        yield from self.on.values()
        if self.otherwise:
            yield self.otherwise
        if self.on_exhausted:
            yield self.on_exhausted

    def message_keys(self) -> Iterator[str]:
        yield from super().message_keys()
        yield "system.busy"
        if self.wait:
            yield self.wait
