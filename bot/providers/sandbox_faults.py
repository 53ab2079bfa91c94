"""The sandbox's switches to misbehave, for tests and demos of a provider having a bad day:
answer 5xx, answer too late (after doing the work: the answer is lost, not the filing), answer
slowly, or be down for a while. Webhook misbehaviour (duplicates, out of order) is switched
here too and done by the webhook sender.

``/_sandbox/...`` (the test controls) never misbehave."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTROL_PREFIX = "/_sandbox/"


@dataclass
class Faults:
    fail_next: int = 0  # the next n calls answer ``fail_status`` without doing anything
    fail_status: int = 503
    hang_next: int = 0  # the next n calls do their work, then answer ``hang_seconds`` late
    hang_seconds: float = 30.0
    slow_seconds: float = 0.0  # every call waits this long first
    down_for_seconds: float = 0.0  # set: down (503) from now on for this long
    duplicate_webhooks: bool = False  # every webhook is delivered twice
    reorder_webhooks: bool = False  # each webhook is held back until the next one went out
    down_until: float = 0.0  # monotonic; set from ``down_for_seconds``

    def update(self, changes: dict[str, object], now: float) -> None:
        for name, value in changes.items():
            if name not in self.__dataclass_fields__ or name == "down_until":
                raise ValueError(f"no switch {name!r}")
            setattr(self, name, type(getattr(self, name))(value))
        if "down_for_seconds" in changes:
            self.down_until = now + self.down_for_seconds

    def shown(self) -> dict[str, object]:
        return asdict(self)


class Misbehaving:
    """ASGI middleware applying ``faults`` to every call but the controls."""

    def __init__(
        self, app: ASGIApp, faults: Faults, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self.faults = faults
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        faults = self.faults
        if faults.slow_seconds > 0:
            await asyncio.sleep(faults.slow_seconds)
        if self.clock() < faults.down_until:
            await _answer(send, 503, {"error": "down for maintenance"})
            return
        if faults.fail_next > 0:
            faults.fail_next -= 1
            await _answer(send, faults.fail_status, {"error": "injected failure"})
            return
        if faults.hang_next > 0:
            faults.hang_next -= 1
            await self.app(scope, receive, _late(send, faults.hang_seconds))
            return
        await self.app(scope, receive, send)


def _late(send: Send, seconds: float) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            await asyncio.sleep(seconds)  # the work is done; its answer comes too late
        await send(message)

    return sending


async def _answer(send: Send, status: int, body: dict[str, str]) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"retry-after", b"1")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
