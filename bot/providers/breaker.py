"""A circuit breaker: after ``failures`` calls in a row failed for want of the provider, calls
fail at once (``ProviderUnavailable`` with ``retry_after``) for ``reset_seconds`` — a provider
that is down is not hammered, and the merchant hears at once that filing is delayed. Then one
call may try (half open): its success closes the circuit, its failure opens it again."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.errors import ProviderUnavailable


class CircuitOpen(ProviderUnavailable):
    """Not tried: the provider failed too often just now."""


class CircuitBreaker:
    def __init__(
        self, failures: int, reset_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = failures
        self.reset_seconds = reset_seconds
        self.clock = clock
        self.failed = 0  # in a row
        self.opened_at: float | None = None
        self.trying = False  # half open: one call is trying

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half_open" if self.clock() - self.opened_at >= self.reset_seconds else "open"

    def before(self) -> None:
        """Raises CircuitOpen when a call must not be tried now."""
        state = self.state
        if state == "closed":
            return
        if state == "half_open" and not self.trying:
            self.trying = True
            return
        assert self.opened_at is not None
        wait = max(self.reset_seconds - (self.clock() - self.opened_at), 0.0)
        raise CircuitOpen("the provider failed too often just now", retry_after=wait)

    def succeeded(self) -> None:
        self.failed, self.opened_at, self.trying = 0, None, False

    def failed_once(self) -> None:
        self.failed += 1
        if self.trying or self.failed >= self.failures:
            self.opened_at = self.clock()
        self.trying = False
