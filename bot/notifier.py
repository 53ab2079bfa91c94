"""Live updates: who should look at the outbox now. In-process today (an asyncio.Event per
topic); across processes a PostgreSQL LISTEN/NOTIFY or Redis pub/sub notifier takes its place
behind the same two methods. A notification is a hint, never the truth: whoever waits also
looks at the store on its own schedule, so a lost hint only delays."""

from __future__ import annotations

import asyncio
import contextlib


class Notifier:
    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def _event(self, topic: str) -> asyncio.Event:
        event = self._events.get(topic)
        if event is None:
            event = self._events[topic] = asyncio.Event()
        return event

    def notify(self, topic: str) -> None:
        """Something changed for ``topic`` (a channel's outbox, a conversation)."""
        self._event(topic).set()

    async def wait(self, topic: str, timeout: float) -> bool:
        """Until ``topic`` is notified or ``timeout`` passes; True when notified."""
        event = self._event(topic)
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that
        # arrives as the event is set, and the task that waits then never stops
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await event.wait()
        notified = event.is_set()
        event.clear()
        return notified
