"""Webhook delivery: POST each queued update to the bot, one at a time per chat and in order,
until it answers 2xx; a refusal or a connection error is retried later, never dropped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import TYPE_CHECKING, NamedTuple

from aiohttp import ClientError, ClientSession, ClientTimeout

from tests.telegram import updates as u
from tests.telegram.methods import method_in_reply

if TYPE_CHECKING:
    from tests.telegram.bot_api import BotAPIServer, Queued

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class Delivery(NamedTuple):
    update_id: int
    outcome: int | str  # the webhook's HTTP status, or the connection error's name
    time: float


class WebhookDelivery:
    def __init__(self, server: BotAPIServer, http: ClientSession) -> None:
        self.server, self.http = server, http
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[int | None, asyncio.Task[None]] = {}
        self._retry_at: dict[int | None, float] = {}
        self._backoff: dict[int | None, float] = {}

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._inflight.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task, self._inflight = None, {}
        self._retry_at.clear()
        self._backoff.clear()

    async def _run(self) -> None:
        server, loop = self.server, asyncio.get_running_loop()
        while server.webhook is not None:
            wakeup, now, seen = server.wakeup, loop.time(), set()
            allowed = server.webhook["allowed_updates"]
            for item in list(server.pending):
                key = u.chat_key(item.update)
                if key in seen:
                    continue
                seen.add(key)
                if allowed and u.kind(item.update) not in allowed:
                    server.pending.remove(item)
                elif key in self._inflight or self._retry_at.get(key, 0) > now:
                    continue
                elif len(self._inflight) < server.webhook["max_connections"]:
                    self._inflight[key] = asyncio.create_task(self._deliver(key, item))
            later = [at - now for at in self._retry_at.values() if at > now]
            await woken(wakeup, min(later, default=None))

    async def _deliver(self, key: int | None, item: Queued) -> None:
        server, hook = self.server, self.server.webhook
        assert hook is not None
        headers = {"Content-Type": "application/json"}
        if hook["secret_token"]:
            headers[SECRET_HEADER] = hook["secret_token"]
        outcome: int | str
        try:
            async with self.http.post(
                hook["url"],
                data=json.dumps(item.update),
                headers=headers,
                timeout=ClientTimeout(total=server.webhook_timeout),
            ) as resp:
                outcome = resp.status
                reply = await method_in_reply(resp) if 200 <= resp.status < 300 else None
        except (ClientError, TimeoutError) as exc:
            outcome, reply = type(exc).__name__, None
        now = asyncio.get_running_loop().time()
        server.deliveries.append(Delivery(item.update["update_id"], outcome, now))
        del self._inflight[key]
        if isinstance(outcome, int) and 200 <= outcome < 300:
            server.pending[:] = [queued for queued in server.pending if queued is not item]
            self._retry_at.pop(key, None)
            self._backoff.pop(key, None)
            if reply is not None:
                await server.call(str(reply.pop("method")), reply)
        else:
            hook["last_error_date"] = int(time.time())
            hook["last_error_message"] = f"Wrong response from the webhook: {outcome}"
            first, most = server.webhook_backoff
            delay = self._backoff.get(key, first)
            self._retry_at[key] = now + delay
            self._backoff[key] = min(delay * 2, most)
        server.notify()


async def woken(event: asyncio.Event, timeout: float | None) -> None:
    """Wait for ``event`` at most ``timeout`` seconds (asyncio.timeout, unlike 3.11's
    wait_for, never swallows a cancellation that races with the event)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
