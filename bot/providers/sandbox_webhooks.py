"""The sandbox's status webhooks: every change of a request it watches is posted to one URL,
signed (``bot.providers.signing``), with an event id and a per-ticket sequence number. A
delivery that fails is tried again on the next tick. The ``Faults`` switches make it deliver
each event twice, or hold each back until the next has gone out (out of order)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from bot.providers.sandbox import SandboxProvider
from bot.providers.sandbox_faults import Faults
from bot.providers.signing import EVENT_HEADER, signed_headers

log = logging.getLogger("posbot.sandbox.webhooks")


@dataclass
class Watched:
    state: str
    sequence: int = 0


class WebhookSender:
    def __init__(
        self,
        provider: SandboxProvider,
        url: str,
        secret: str,
        faults: Faults,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.provider = provider
        self.url = url
        self.secret = secret
        self.faults = faults
        self.clock = clock
        self.watched: dict[str, Watched] = {}
        self.pending: list[dict[str, object]] = []  # events not delivered yet, in order
        self.held: dict[str, object] | None = None  # out of order: waiting for the next one
        self.delivered: list[dict[str, object]] = []  # for tests
        self._client = httpx.AsyncClient(timeout=5.0)
        self._lock = asyncio.Lock()  # the ticking loop and a test's tick: one at a time

    def watch(self, ticket: str, state: str) -> None:
        self.watched.setdefault(ticket, Watched(state))

    async def tick(self) -> None:
        """Look for changes; deliver what is pending."""
        async with self._lock:
            await self._tick()

    async def _tick(self) -> None:
        for ticket, seen in list(self.watched.items()):
            status = await self.provider.status(ticket)
            if status.state != seen.state:
                seen.state, seen.sequence = status.state, seen.sequence + 1
                self._queue(
                    {
                        "event_id": uuid.uuid4().hex,
                        "ticket": ticket,
                        "state": status.state,
                        "reason": status.reason,
                        "sequence": seen.sequence,
                        "occurred_at": self.clock(),
                    }
                )
            if status.is_final:
                del self.watched[ticket]
        await self.flush()

    def _queue(self, event: dict[str, object]) -> None:
        if not self.faults.reorder_webhooks:
            self.pending.append(event)
        elif self.held is None:
            self.held = event
        else:  # the newer one first, then the one held back
            self.pending += [event, self.held]
            self.held = None

    async def flush(self) -> None:
        """Deliver what is pending, in order; stop at the first failure (tried again later)."""
        while self.pending:
            event = self.pending[0]
            copies = 2 if self.faults.duplicate_webhooks else 1
            try:
                for _ in range(copies):
                    await self._post(event)
            except httpx.HTTPError as exc:
                log.warning("webhook %s not delivered: %s", event["event_id"], exc)
                return
            self.pending.pop(0)
            self.delivered.append(event)

    async def _post(self, event: dict[str, object]) -> None:
        body = json.dumps(event).encode()
        headers = {
            "content-type": "application/json",
            EVENT_HEADER: str(event["event_id"]),
            **signed_headers(self.secret, self.clock(), body),
        }
        answer = await self._client.post(self.url, content=body, headers=headers)
        if answer.status_code >= 500:
            raise httpx.HTTPStatusError("server error", request=answer.request, response=answer)

    async def run(self, every: float) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # the sandbox keeps going whatever happens
                log.exception("webhook tick failed")
            await asyncio.sleep(every)

    async def close(self) -> None:
        await self._client.aclose()
