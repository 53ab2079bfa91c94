"""N merchants at once through the whole 注销 conversation, through ``Runtime.receive`` — the
entry point every channel uses — on the store exactly as ``make run`` sets it up."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.bootstrap import App, build
from bot.engine.events import InboundEvent
from bot.providers.base import Terminal
from bot.providers.sandbox import SandboxProvider
from bot.settings import Settings
from bot.store.transaction import OutboxItem

CODE = "246810"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
WARM_UP = 5  # merchants through the whole conversation before the clock starts
DELIVER_EVERY = 256  # the channel marks replies delivered in batches, as an outbox sender does


def typed_details(terminal: Terminal) -> dict[str, str]:
    """What a merchant types when asked: full-width digits and spaces in the merchant number,
    a lowercase serial with a dash, the phone with +86 and spaces, a full-width code."""
    m, s, p = terminal.merchant_id, terminal.serial.lower(), terminal.registered_phone[3:]
    return {
        "merchant_id": f"{m[:4]} {m[4:8]} {m[8:]}".translate(FULL_WIDTH),
        "serial": f"{s[:4]}-{s[4:]}",
        "phone": f"+86 {p[:3]} {p[3:7]} {p[7:]}",
        "code": CODE.translate(FULL_WIDTH),
    }


def typed_like_a_merchant(terminal: Terminal) -> list[str]:
    """Full-width digits, spaces, a lowercase serial with a dash, +86, answers by label."""
    typed = typed_details(terminal)
    return [
        "/start",
        "注销终端",
        typed["merchant_id"],
        typed["serial"],
        typed["phone"],
        "确认无误",
        typed["code"],
        "继续",  # the checklist's list: on to the items one by one
        *["已完成"] * 6,
        "更换服务商",
        "确认提交",
    ]


def parked_at_serial(terminal: Terminal) -> list[str]:
    return ["/deregister", terminal.merchant_id]


@dataclass
class Run:
    merchants: int
    messages: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds busy, one per message
    waits: list[float] = field(default_factory=list)  # seconds in to replies, queueing included
    tickets: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    db_bytes: int = 0
    events_per_commit: float = 0.0

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def make_app(
    workdir: Path, merchants: int, *, start: int = 1000, **settings_: Any
) -> tuple[App, SandboxProvider, list[Terminal]]:
    """The app as `make run` builds it (SQLite file, WAL, sandbox in process); ``settings_``
    are more Settings fields (a channel's)."""
    workdir.mkdir(parents=True, exist_ok=True)
    for old in workdir.glob("bench.db*"):
        old.unlink()
    provider = SandboxProvider(review_step_seconds=3600.0, fixed_code=CODE)
    terminals = provider.generate_terminals(merchants, start=start)
    database_url = f"sqlite:///{workdir / 'bench.db'}"
    settings = Settings(database_url=database_url, _env_file=None, **settings_)
    return build(settings, provider=provider), provider, terminals


async def run_posbot(workdir: Path, merchants: int) -> Run:
    app, provider, terminals = make_app(workdir, merchants + WARM_UP)
    runtime = app.runtime
    keys = itertools.count()
    undelivered: list[OutboxItem] = []
    run = Run(merchants)

    async def merchant(number: int, terminal: Terminal, run: Run) -> None:
        user = f"merchant-{number}"
        said: list[OutboxItem] = []
        for line in typed_like_a_merchant(terminal):
            event = InboundEvent("bench", user, f"bench:{next(keys)}", text=line)
            began = time.perf_counter()
            delivery = await runtime.receive(event)  # returns once its replies are committed
            run.waits.append(time.perf_counter() - began)
            run.latencies.append(delivery.seconds)
            said = delivery.messages
            undelivered.extend(said)
            if len(undelivered) >= DELIVER_EVERY:
                runtime.delivered(undelivered)
                undelivered.clear()
            await asyncio.sleep(0)  # merchants take turns, as concurrent chats do
        filed = [m for m in said if "submit.filed" in m.payload["keys"]]
        if not filed:
            run.failures.append(f"{user} got no ticket: {[m.payload['keys'] for m in said]}")
            return
        run.tickets.add(filed[0].payload["text"])

    # warm up (templates compiled, statements prepared) with merchants of their own
    warm = Run(WARM_UP)
    await asyncio.gather(*(merchant(-1 - i, t, warm) for i, t in enumerate(terminals[:WARM_UP])))
    run.failures += warm.failures
    commits, events = runtime.commits, runtime.committed_events
    began = time.perf_counter()
    await asyncio.gather(*(merchant(i, t, run) for i, t in enumerate(terminals[WARM_UP:])))
    run.seconds = time.perf_counter() - began
    runtime.delivered(undelivered)
    run.messages = len(run.latencies)
    run.events_per_commit = (runtime.committed_events - events) / max(runtime.commits - commits, 1)
    requests = app.store.requests()
    expected = merchants + WARM_UP
    if provider.filings != expected or len(requests) != expected:
        run.failures.append(
            f"filed {provider.filings} requests at the provider and stored {len(requests)} "
            f"for {expected} merchants"
        )
    if len({r["ticket"] for r in requests}) != len(requests):
        run.failures.append("a ticket was issued twice")
    app.store.engine.dispose()
    run.db_bytes = sum(p.stat().st_size for p in workdir.glob("bench.db*"))
    return run
