"""WeChat's outbound side: what the outbox holds for WeChat goes out as customer-service messages
(客服消息), in order per merchant, each chat claimed first so several processes can share the
outbox (as on Telegram).

WeChat allows customer-service messages for 48 hours after the merchant's last message, and
only so many per message of theirs. Refused with 45015 (outside the window) or 45047 (over the
quota) a message is not tried again: a status push or an operator's message then goes as the
configured template message (its text in the template's main field); anything else is kept in
the outbox marked ``undelivered`` with the reason, for an agent to see — never dropped
silently. 43004 (the merchant unfollowed) marks the conversation unreachable. Network errors,
5xx and "system busy" are tried again with backoff, the message staying in the outbox.

A chat whose webhook request is still deciding on a passive reply is left alone (``holding``):
that reply goes first, then the rest from here, in order."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from bot.channels.wechat_api import NOT_FOLLOWING, OUTSIDE_WINDOW, OVER_QUOTA, WeChatApi
from bot.channels.wechat_inbound import CHANNEL
from bot.channels.wechat_text import parts_of, text_of
from bot.errors import PlatformRefused, PlatformUnavailable
from bot.runtime import Runtime
from bot.store.transaction import OutboxItem

log = logging.getLogger("posbot.wechat")
POLL_SECONDS = 0.5  # the outbox is read this often even without a notification
MAX_BACKOFF = 30.0
WINDOW_CODES = {OUTSIDE_WINDOW: "outside_window", OVER_QUOTA: "over_quota"}
PUSH_KEYS = ("status.", "operator.message")  # replies nobody asked for: worth a template


def is_push(payload: Mapping[str, Any]) -> bool:
    return any(str(key).startswith(PUSH_KEYS) for key in payload.get("keys") or [])


class WeChatSender:
    def __init__(
        self,
        api: WeChatApi,
        runtime: Runtime,
        *,
        template_id: str | None,
        template_field: str = "content",
        holding: Callable[[str], bool] = lambda chat: False,
    ) -> None:
        self.api = api
        self.runtime = runtime
        self.template_id = template_id
        self.template_field = template_field
        self.holding = holding
        self._busy: dict[str, asyncio.Task[None]] = {}
        self._claimed: dict[str, list[int]] = {}

    async def run(self) -> None:
        renewed = time.monotonic()
        try:
            while True:
                self.drain_once()
                await self.runtime.notifier.wait(CHANNEL, POLL_SECONDS)
                if time.monotonic() - renewed > self.runtime.store.reply_lease.total_seconds() / 4:
                    self.runtime.store.renew_claims(self._in_flight())
                    renewed = time.monotonic()
        finally:
            for task in self._busy.values():
                task.cancel()
            for task in list(self._busy.values()):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self.runtime.store.release_claims(self._in_flight())
            self._claimed.clear()

    def drain_once(self) -> None:
        by_chat: dict[str, list[OutboxItem]] = {}
        for item in self.runtime.store.claim_messages(CHANNEL):
            by_chat.setdefault(item.user_id, []).append(item)
        for chat, items in by_chat.items():
            if chat in self._busy or self.holding(chat):
                self.runtime.store.release_claims([item.id for item in items])
                continue
            self._claimed[chat] = [item.id for item in items]
            task = asyncio.create_task(self._drain(chat, items))
            self._busy[chat] = task
            task.add_done_callback(functools.partial(self._done, chat))

    def _in_flight(self) -> list[int]:
        return [outbox_id for ids in self._claimed.values() for outbox_id in ids]

    def _done(self, chat: str, task: asyncio.Task[None]) -> None:
        self._busy.pop(chat, None)
        left = self._claimed.pop(chat, [])
        if left:
            self.runtime.store.release_claims(left)
        if not task.cancelled():
            self.runtime.notifier.notify(CHANNEL)  # what came for this chat meanwhile

    async def _drain(self, chat: str, items: list[OutboxItem]) -> None:
        for item in items:
            receipt = await self.deliver(chat, item.payload)
            if receipt is None:  # unreachable: the rest was set aside with it
                return
            self.runtime.store.mark_sent([(item.id, receipt)])
            self._claimed[chat].remove(item.id)

    async def deliver(self, chat: str, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        """Send one reply by WeChat's rules; what became of it (None: unreachable)."""
        for number, part in enumerate(parts_of(payload)):
            try:
                await self._patiently(functools.partial(self.api.send_text, chat, part))
            except PlatformRefused as exc:
                if exc.code == NOT_FOLLOWING:
                    self.runtime.store.mark_unreachable(CHANNEL, chat)
                    log.warning("wechat user %s unfollowed: marked unreachable", chat)
                    return None
                if exc.code in WINDOW_CODES and number == 0:
                    return await self._instead(chat, payload, WINDOW_CODES[exc.code])
                log.error("wechat refused a message to %s: %s", chat, exc)
                return {"undelivered": f"refused {exc.code}"}
        return {"sent_as": "customer_service"}

    async def _instead(self, chat: str, payload: Mapping[str, Any], why: str) -> dict[str, Any]:
        """Customer-service messages are closed to this merchant for now (``why``)."""
        if not (self.template_id and is_push(payload)):
            log.warning("wechat reply to %s kept undelivered: %s", chat, why)
            return {"undelivered": why}
        data = {self.template_field: {"value": text_of(payload)}}
        try:
            await self._patiently(
                functools.partial(self.api.send_template, chat, self.template_id, data)
            )
        except PlatformRefused as exc:
            log.error("wechat template to %s refused: %s", chat, exc)
            return {"undelivered": f"{why}; template refused {exc.code}"}
        return {"sent_as": "template", "window": why}

    async def _patiently(self, call: Callable[[], Any]) -> Any:
        """``call`` until WeChat takes or refuses it; an outage is waited out."""
        backoff = 1.0
        while True:
            try:
                return await call()
            except PlatformUnavailable as exc:
                log.warning("wechat unavailable (%s); again in %.0f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
