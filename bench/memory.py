"""Memory per idle conversation: park N conversations mid-way (at the serial step) and see how
much the process grew — as RSS, and as Python heap that is still held (tracemalloc). State lives
in the database, so both should stay close to nothing."""

from __future__ import annotations

import gc
import itertools
import os
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

from bench.posbot_load import make_app, parked_at_serial
from bot.engine.events import InboundEvent


@dataclass(frozen=True)
class IdleMemory:
    rss_kb_per_conversation: float
    heap_bytes_per_conversation: float


def rss_kb() -> int:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


async def idle_conversations(workdir: Path, merchants: int) -> IdleMemory:
    app, _, terminals = make_app(workdir, merchants + 1, start=500_000)
    keys = itertools.count()
    # warm up: one conversation so caches (templates, statements) are built before measuring
    for line in parked_at_serial(terminals[0]):
        await app.runtime.receive(InboundEvent("idle", "warm", f"w{next(keys)}", text=line))
    gc.collect()
    tracemalloc.start()
    heap_before = tracemalloc.get_traced_memory()[0]
    rss_before = rss_kb()
    for number, terminal in enumerate(terminals[1:], 1):
        for line in parked_at_serial(terminal):
            delivery = await app.runtime.receive(
                InboundEvent("idle", f"parked-{number}", f"i{next(keys)}", text=line)
            )
            app.runtime.delivered(delivery.messages)
    gc.collect()
    heap = tracemalloc.get_traced_memory()[0] - heap_before
    rss = rss_kb() - rss_before
    tracemalloc.stop()
    app.store.engine.dispose()
    return IdleMemory(max(rss, 0) / merchants, max(heap, 0) / merchants)
