"""Pacing outbound messages to a platform's limits, by queueing, never by dropping: a token
bucket per chat (Telegram: about one message a second, short bursts allowed), one for the whole
bot (about 30 a second), and a hold on a chat for as long as a 429 said (``retry_after``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class Bucket:
    rate: float  # tokens a second
    capacity: float
    tokens: float
    stamp: float

    def wait_for_one(self, now: float) -> float:
        """Seconds until a token is there (0: take it now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class Pacer:
    def __init__(
        self,
        *,
        per_chat: float = 1.0,
        burst: int = 3,
        per_bot: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_chat, self.burst, self.clock = per_chat, burst, clock
        self._bot = Bucket(per_bot, per_bot, per_bot, clock())
        self._chats: dict[str, Bucket] = {}
        self._held: dict[str, float] = {}  # chat → no call before this moment
        self._lock = asyncio.Lock()

    def hold(self, chat: str, seconds: float) -> None:
        """The platform said "retry after": nothing to this chat before then."""
        self._held[chat] = max(self._held.get(chat, 0.0), self.clock() + seconds)

    async def acquire(self, chat: str) -> None:
        """Wait until a message may go to ``chat``; then it is counted."""
        while True:
            async with self._lock:
                now = self.clock()
                held = self._held.get(chat, 0.0) - now
                bucket = self._chats.get(chat)
                if bucket is None:
                    bucket = self._chats[chat] = Bucket(self.per_chat, self.burst, self.burst, now)
                wait = max(held, bucket.wait_for_one(now), self._bot.wait_for_one(now))
                if wait <= 0:
                    bucket.tokens -= 1
                    self._bot.tokens -= 1
                    self._held.pop(chat, None)
                    return
            await asyncio.sleep(wait)
