"""The agents' Telegram group (``POSBOT_TELEGRAM_AGENT_CHAT``): every conversation that starts
waiting for a person is announced there once, with a link to it in the console — whichever
process sees it first claims the announcement in the store, so none is lost or told twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.i18n import Catalog
from bot.store.repository import Store

log = logging.getLogger("posbot.telegram")
EVERY = 2.0  # seconds between looks at the queue


async def announce_waiting(
    store: Store,
    catalog: Catalog,
    locale: str,
    console_url: str,
    send: Callable[[str], Awaitable[object]],
) -> None:
    """Until cancelled: announce each new hand-off through ``send`` (the text of one message)."""
    while True:
        for handoff in store.claim_announcements():
            cid = handoff["conversation_id"]
            text = catalog.render(
                locale,
                "agent_chat.waiting",
                {"id": cid, "reason": handoff["reason"], "url": f"{console_url}/c/{cid}"},
            )
            try:
                await send(text)
            except Exception as exc:  # the group is one more place to look, never a blocker
                log.warning("agents' group not told of #%s: %s", cid, type(exc).__name__)
        await asyncio.sleep(EVERY)
