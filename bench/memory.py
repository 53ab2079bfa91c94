"""Memory per idle conversation: park N conversations mid-way (at the serial step) and see how
much the process grew. State lives in the database, so it should be close to nothing."""

from __future__ import annotations

import gc
import itertools
import os
from pathlib import Path

from bench.posbot_load import make_app, parked_at_serial
from bot.engine.events import InboundEvent


def rss_kb() -> int:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


async def idle_conversation_kb(workdir: Path, merchants: int) -> float:
    app, _, terminals = make_app(workdir, merchants, start=500_000)
    keys = itertools.count()
    # warm up: one conversation so caches (templates, statements) are built before measuring
    for line in parked_at_serial(terminals[0]):
        await app.runtime.receive(InboundEvent("idle", "warm", f"w{next(keys)}", text=line))
    gc.collect()
    before = rss_kb()
    for number, terminal in enumerate(terminals[1:], 1):
        for line in parked_at_serial(terminal):
            delivery = await app.runtime.receive(
                InboundEvent("idle", f"parked-{number}", f"i{next(keys)}", text=line)
            )
            app.runtime.delivered(delivery.messages)
    gc.collect()
    grown = rss_kb() - before
    app.store.engine.dispose()
    return max(grown, 0) / max(merchants - 1, 1)
