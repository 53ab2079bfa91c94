"""The terminal channel behind ``posbot chat``: one merchant, typing in a terminal or a script.

Buttons print as numbered options; a reply that is one of those numbers taps that button."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from pathlib import Path

from bot.engine.events import InboundEvent
from bot.engine.turn import OPTION_NUMBER
from bot.runtime import Runtime
from bot.store.transaction import OutboxItem

CHANNEL = "terminal"


class TerminalChat:
    def __init__(
        self,
        runtime: Runtime,
        *,
        user_id: str,
        locale: str | None,
        write: Callable[[str], None],
        exports_dir: Path,
        notices: list[str] | None = None,
    ) -> None:
        self.runtime = runtime
        self.user_id = user_id
        self.locale = locale
        self.write = write
        self.exports_dir = exports_dir
        self.notices = notices if notices is not None else []  # shown after the replies
        self._buttons: list[tuple[str, str]] = []  # (label, value) of the latest reply

    def event_for(self, line: str) -> InboundEvent:
        key = f"{CHANNEL}:{uuid.uuid4().hex}"
        text = line.strip()
        # ASCII digits only, and few: int() refuses "①" and 4,301+ digits
        if OPTION_NUMBER.fullmatch(text) and 1 <= int(text) <= len(self._buttons):
            label, value = self._buttons[int(text) - 1]
            return InboundEvent(
                CHANNEL,
                self.user_id,
                key,
                kind="button",
                text=label,
                payload={"value": value},
                locale=self.locale,
            )
        return InboundEvent(CHANNEL, self.user_id, key, text=line, locale=self.locale)

    async def send(self, line: str) -> None:
        await self.runtime.receive(self.event_for(line))
        self.flush()

    async def poll(self) -> None:
        """Pick up status changes from the provider and show them."""
        await self.runtime.poll_statuses()
        await self.runtime.sweep()  # filings retried after an outage, effects left behind
        self.flush()

    def open_requests(self) -> int:
        return len(self.runtime.open_requests(CHANNEL, self.user_id))

    async def resume(self) -> None:
        """Come back to the conversation: what was not delivered, else the last question
        again; a merchant new here gets the welcome."""
        if self.runtime.outgoing(CHANNEL, self.user_id):
            self.flush()
            return
        last = self.runtime.last_reply(CHANNEL, self.user_id)
        if last is None:
            await self.send("/start")
        elif self.locale:  # --lang given: switch, which also asks the question again
            await self.send(f"/lang {self.locale}")
        else:
            self._show([last])

    def flush(self) -> None:
        items = self.runtime.outgoing(CHANNEL, self.user_id)
        self._show(items)
        self.runtime.delivered(items)
        while self.notices:
            self.write(self.notices.pop(0))

    def _show(self, items: list[OutboxItem]) -> None:
        for item in items:
            payload = item.payload
            self.write(payload["text"])
            buttons = [(label, value) for label, value in payload.get("buttons", [])]
            for number, (label, _value) in enumerate(buttons, 1):
                self.write(f"  {number}) {label}")
            for attachment in payload.get("attachments", []):
                self.write(f"  📎 {self._save(attachment)}")
            self._buttons = buttons

    def _save(self, attachment: dict[str, str]) -> Path:
        self.exports_dir.mkdir(parents=True, exist_ok=True)
        path = self.exports_dir / Path(attachment["name"]).name
        path.write_bytes(base64.b64decode(attachment["data"]))
        return path
