"""Telegram's flood control: ~1 message/s per chat (with a burst), ~30/s per bot, 429s with
``retry_after``, and a record of every 429 given and every call that ignored one."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from tests.telegram.methods import ApiError

TOLERANCE = 0.01  # seconds a well-behaved client may be early by clock granularity


class Call(NamedTuple):
    method: str
    params: dict[str, Any]
    time: float  # loop.time() when the call arrived
    status: int


class RetryAfterGiven(NamedTuple):
    time: float
    method: str
    chat_id: int | None  # None: the bot-wide limit
    retry_after: int
    until: float


class FloodControl:
    """Token buckets per chat and per bot; a 429 opens a window the client must wait out."""

    def __init__(self, per_chat_per_second: float, burst: int, per_bot_per_second: float) -> None:
        self.limits = {"chat": (per_chat_per_second, burst)}
        self.limits["bot"] = (per_bot_per_second, max(1, int(per_bot_per_second)))
        self.given: list[RetryAfterGiven] = []
        self.ignored: list[tuple[Call, RetryAfterGiven]] = []
        self._buckets: dict[int | None, tuple[float, float]] = {}  # key -> (tokens, at)
        self._windows: dict[int | None, RetryAfterGiven] = {}
        self._forced: list[int] = []

    def force(self, count: int, retry_after: int) -> None:
        self._forced.extend([max(1, retry_after)] * count)

    def admit(self, call: Call, chat_id: int) -> Callable[[], None]:
        """Raise the 429 Telegram would give, or return what spends the call's tokens
        (called only when the call succeeds: refused calls do not count)."""
        now = call.time
        for key in (chat_id, None):
            window = self._windows.get(key)
            if window is not None and now < window.until - TOLERANCE:
                self.ignored.append((call, window))
                self._refuse(call.method, key, math.ceil(window.until - now), now)
        if self._forced:
            self._refuse(call.method, chat_id, self._forced.pop(0), now)
        levels: dict[int | None, float] = {}
        for key, (rate, capacity) in ((chat_id, self.limits["chat"]), (None, self.limits["bot"])):
            tokens, at = self._buckets.get(key, (float(capacity), now))
            levels[key] = min(float(capacity), tokens + (now - at) * rate)
            if levels[key] < 1:
                self._refuse(call.method, key, max(1, math.ceil((1 - levels[key]) / rate)), now)

        def spend() -> None:
            for key, tokens in levels.items():
                self._buckets[key] = (tokens - 1, now)

        return spend

    def _refuse(self, method: str, key: int | None, retry_after: int, now: float) -> None:
        given = RetryAfterGiven(now, method, key, retry_after, now + retry_after)
        self.given.append(given)
        self._windows[key] = given
        raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
