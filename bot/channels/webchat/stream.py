"""Replies pushed to an open page as Server-Sent Events, each with its outbox id as the event id.

Why SSE rather than a WebSocket: the page only needs news from the server (what it sends goes
by plain POSTs, each with its own dedup key and status code); EventSource reconnects by itself
and sends back the last event id it saw (``Last-Event-ID``), which is exactly the outbox cursor
— so a lost connection resumes where it stopped, nothing missed, nothing twice; and it is plain
HTTP through any proxy, with no extra dependency.

The store is the truth: the stream reads what came after the cursor, pushes it and marks it
delivered; the notifier only wakes it early. Any process can serve any visitor's stream."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable

from bot.channels.webchat.views import CHANNEL, reply_view
from bot.runtime import Runtime
from bot.store.chat_log import Sent, replies_after

POLL_SECONDS = 1.0  # the store is read this often without a notification (other processes)
HEARTBEAT_SECONDS = 15.0  # a comment line keeps proxies from closing a quiet stream
RETRY_MS = 2000  # how soon a browser reconnects after the stream breaks
BATCH = 50


def cursor_of(last_event_id: str | None, after: str | None) -> int | None:
    """Where to resume: the browser's ``Last-Event-ID`` (a reconnect), else ``?after=``; None
    when neither is a plain non-negative number."""
    given = last_event_id if last_event_id is not None else after
    if given is None or given == "":
        return 0
    return int(given) if given.isascii() and given.isdigit() and len(given) < 19 else None


def event(sent: Sent) -> str:
    data = json.dumps(reply_view(sent), ensure_ascii=False, separators=(",", ":"))
    return f"id: {sent.item.id}\nevent: reply\ndata: {data}\n\n"


async def replies(
    runtime: Runtime, visitor: str, after: int, stopping: Callable[[], bool]
) -> AsyncIterator[str]:
    """The stream of one page: every reply after ``after``, then each new one as it comes,
    until the client goes away (Starlette cancels this) or the server stops."""
    yield f"retry: {RETRY_MS}\n\n"
    cursor = after
    quiet_since = time.monotonic()
    while not stopping():
        batch = replies_after(runtime.store, CHANNEL, visitor, cursor, BATCH)
        if batch:
            for sent in batch:
                yield event(sent)
            cursor = batch[-1].item.id
            runtime.delivered([sent.item for sent in batch if not sent.delivered])
            quiet_since = time.monotonic()
            continue
        if time.monotonic() - quiet_since >= HEARTBEAT_SECONDS:
            yield ": still here\n\n"
            quiet_since = time.monotonic()
        await runtime.notifier.wait(CHANNEL, POLL_SECONDS)
