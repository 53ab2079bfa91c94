"""Telegram's outbound side: one sender over the outbox. Replies go out in order per chat,
paced to Telegram's limits (``Pacer``); a 429 holds that chat for its ``retry_after``; network
errors and 5xx are tried again with backoff, the reply staying in the outbox until it is sent
(across a restart too); a 403 (the merchant blocked the bot) marks the conversation
unreachable, without a retry loop. Each reply is marked delivered with its Telegram message id.
The calls go through the Bot API port (``telegram_port``): the same sender on either runtime.
A chat's replies are claimed before they are sent (``Claims``): several processes share the
outbox, and each chat is sent to by one of them at a time, in order."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from typing import Any

from bot.channels.pacing import Pacer
from bot.channels.telegram_messages import CHANNEL, REMOVE_KEYBOARD, Part, parts_of
from bot.channels.telegram_port import (
    BadRequest,
    BotAPI,
    Forbidden,
    PlatformUnavailable,
    RetryAfter,
)
from bot.runtime import Runtime
from bot.store.transaction import OutboxItem

log = logging.getLogger("posbot.telegram")
POLL_SECONDS = 1.0  # the outbox is read this often even without a notification
RECEIPTS_AFTER, RECEIPTS_AT_ONCE = 0.005, 128  # seconds; receipts recorded in one commit
RETRY_RECEIPTS_AFTER = 1.0  # seconds: receipts that could not be written are tried again
MAX_BACKOFF = 30.0


class TelegramSender:
    def __init__(self, bot: BotAPI, runtime: Runtime, pacer: Pacer) -> None:
        self.bot = bot
        self.runtime = runtime
        self.pacer = pacer
        self._busy: dict[str, asyncio.Task[None]] = {}  # chats being drained
        self._reply_keyboards: set[str] = set()  # chats shown a reply keyboard (memory: a cache)
        self._claimed: dict[str, list[int]] = {}  # chat → outbox ids claimed and not yet sent
        # receipts of sent replies, recorded together a few milliseconds later (one commit for
        # many); until then the newest keyboard of each chat is known from here
        self._receipts: list[tuple[int, dict[str, Any]]] = []
        self._unrecorded_keyboards: dict[str, int] = {}
        self._flush: asyncio.TimerHandle | None = None
        self._recording: set[asyncio.Future[None]] = set()  # receipts being written

    async def run(self) -> None:
        """Deliver what the outbox holds for Telegram, as long as the channel runs: the chats
        nobody else is sending to are claimed (a lease, renewed while sending), so several
        processes can share the outbox; what is left unsent at the stop is given back. The
        claims and receipts are written on a worker thread: the loop sends meanwhile."""
        renewed = time.monotonic()
        try:
            while True:
                await self.drain_once()
                await self.runtime.notifier.wait(CHANNEL, POLL_SECONDS)
                if time.monotonic() - renewed > self.runtime.store.reply_lease.total_seconds() / 4:
                    await self.runtime.store.off_loop(
                        self.runtime.store.renew_claims, self._in_flight()
                    )
                    renewed = time.monotonic()
        finally:
            for task in self._busy.values():
                task.cancel()
            for task in list(self._busy.values()):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for recording in list(self._recording):
                with contextlib.suppress(Exception):
                    await asyncio.shield(recording)
            self._record(self._take_receipts())
            self.runtime.store.release_claims(self._in_flight())
            self._claimed.clear()

    async def drain_once(self) -> None:
        by_chat: dict[str, list[OutboxItem]] = {}
        store = self.runtime.store
        for item in await store.off_loop(store.claim_messages, CHANNEL):
            by_chat.setdefault(item.user_id, []).append(item)
        for chat, items in by_chat.items():
            if chat in self._busy:  # ours already (a lease that ran out): sent by that task
                self.runtime.store.release_claims([item.id for item in items])
                continue
            self._claimed[chat] = [item.id for item in items]
            task = asyncio.create_task(self._drain(chat, items))
            self._busy[chat] = task
            task.add_done_callback(functools.partial(self._done, chat))

    def _in_flight(self) -> list[int]:
        return [outbox_id for ids in self._claimed.values() for outbox_id in ids]

    def _done(self, chat: str, _task: asyncio.Task[None]) -> None:
        self._busy.pop(chat, None)
        left = self._claimed.pop(chat, [])
        if left:  # stopped short (unreachable, or the channel stops): nobody holds them now
            self.runtime.store.release_claims(left)
        if not _task.cancelled():  # replies committed meanwhile for this chat: at once
            self.runtime.notifier.notify(CHANNEL)

    async def _drain(self, chat: str, items: list[OutboxItem]) -> None:
        for item in items:
            receipt = await self._deliver(chat, item)
            if receipt is None:  # unreachable: the rest was set aside with it
                return
            self._receipt(chat, item, receipt)
            self._claimed[chat].remove(item.id)

    def _receipt(self, chat: str, item: OutboxItem, receipt: dict[str, Any]) -> None:
        if item.payload.get("buttons") and "sent_as" in receipt:
            receipt["keyboard"] = receipt["sent_as"]
            self._unrecorded_keyboards[chat] = int(receipt["sent_as"])
        self._receipts.append((item.id, receipt))
        if len(self._receipts) >= RECEIPTS_AT_ONCE or len(self._busy) <= 1:
            # one chat being sent to: recorded at once (a crash then sends nothing twice);
            # many: together, a few milliseconds later, in one commit
            self.record_receipts()
        elif self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(
                RECEIPTS_AFTER, self.record_receipts
            )

    def record_receipts(self) -> None:
        """Mark what was sent as sent, in one transaction, written on a worker thread. A
        crash before it sends those replies again after the restart (delivery is at least
        once, as it is anyway between Telegram's answer and any commit). Until it is written,
        each chat's newest keyboard among them is known from memory."""
        receipts = self._take_receipts()
        if not receipts:
            return
        store = self.runtime.store
        recording = asyncio.ensure_future(store.off_loop(store.mark_sent, receipts))
        self._recording.add(recording)
        recording.add_done_callback(functools.partial(self._recorded, receipts))

    def _take_receipts(self) -> list[tuple[int, dict[str, Any]]]:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        receipts, self._receipts = self._receipts, []
        return receipts

    def _record(self, receipts: list[tuple[int, dict[str, Any]]]) -> None:
        self.runtime.store.mark_sent(receipts)
        self._forget_keyboards(receipts)

    def _forget_keyboards(self, receipts: list[tuple[int, dict[str, Any]]]) -> None:
        """Keyboards now written: the store knows them (a newer one, not yet, stays here)."""
        keyboards = {r["keyboard"] for _, r in receipts if "keyboard" in r}
        for chat, keyboard in list(self._unrecorded_keyboards.items()):
            if keyboard in keyboards:
                del self._unrecorded_keyboards[chat]

    def _recorded(
        self, receipts: list[tuple[int, dict[str, Any]]], recording: asyncio.Future[None]
    ) -> None:
        self._recording.discard(recording)
        if not recording.cancelled() and recording.exception() is None:
            self._forget_keyboards(receipts)
        else:
            log.error("telegram receipts not recorded (%s); again shortly", recording)
            self._receipts[:0] = receipts  # the next record writes them
            if self._flush is None:
                self._flush = asyncio.get_running_loop().call_later(
                    RETRY_RECEIPTS_AFTER, self.record_receipts
                )

    def latest_keyboard(self, chat: str) -> int | None:
        """The message id of the newest message with buttons sent to ``chat``: a tap on any
        other is on an earlier message."""
        unrecorded = self._unrecorded_keyboards.get(chat)
        return (
            unrecorded
            if unrecorded is not None
            else self.runtime.store.last_keyboard(CHANNEL, chat)
        )

    async def _deliver(self, chat: str, item: OutboxItem) -> dict[str, Any] | None:
        """Send one reply, however long it takes; what Telegram said of it (None: the chat
        cannot be reached)."""
        parts = parts_of(item.payload)
        if item.payload.get("in_place"):  # replaces the message whose button was tapped
            target = self.latest_keyboard(chat)
            if target is not None and len(parts) == 1 and parts[0].has_buttons:
                edited = await self.call(
                    chat, functools.partial(self._edit, chat, target, parts[0])
                )
                if edited is False:
                    self._unreachable(chat)
                    return None
                if edited is not None:
                    return {"sent_as": target}
                # the message cannot be edited any more (too old, deleted): a new one
        sent_as: int | None = None
        for part in parts:
            message = await self.call(chat, functools.partial(self._send, chat, part))
            if message is False:
                self._unreachable(chat)
                return None
            if message is not None and (part.has_buttons or sent_as is None):
                sent_as = message
        return {} if sent_as is None else {"sent_as": sent_as}

    def _unreachable(self, chat: str) -> None:
        self.runtime.store.mark_unreachable(CHANNEL, chat)
        log.warning("telegram chat %s blocked the bot: marked unreachable", chat)

    async def _send(self, chat: str, part: Part) -> Any:
        if part.document is not None:
            name, data = part.document
            return await self.bot.send_document(int(chat), name, data)
        markup = part.markup
        if part.has_reply_keyboard:
            self._reply_keyboards.add(chat)
        elif markup is None and chat in self._reply_keyboards:
            # the "share my phone number" keyboard stays until told to go: the next plain message
            markup = REMOVE_KEYBOARD
        message = await self.bot.send_message(int(chat), part.text or "", reply_markup=markup)
        if markup is REMOVE_KEYBOARD:
            self._reply_keyboards.discard(chat)
        return message

    async def _edit(self, chat: str, message_id: int, part: Part) -> Any:
        await self.bot.edit_message_text(int(chat), message_id, part.text or "", part.markup)
        return True

    async def call(self, chat: str, make: Any) -> Any:
        """A call to Telegram for ``chat``, paced and tried until it goes through. Returns its
        result; False when the chat cannot be reached (403); None when Telegram refuses the
        call for good (400: nothing to gain by sending it again). An edit Telegram finds "not
        modified" is done: the message shows it already (a tap or a reply that came again)."""
        backoff = 0.5
        while True:
            await self.pacer.acquire(chat)
            try:
                return await make()
            except RetryAfter as exc:
                log.info("telegram 429 for chat %s: retry after %s s", chat, exc.retry_after)
                self.pacer.hold(chat, float(exc.retry_after))
            except Forbidden:
                return False
            except BadRequest as exc:
                if "not modified" in exc.message:
                    return True
                log.error("telegram refused a call for chat %s: %s", chat, exc.message)
                return None
            except PlatformUnavailable as exc:
                log.warning("telegram unavailable (%s); again in %.1f s", exc.message, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
