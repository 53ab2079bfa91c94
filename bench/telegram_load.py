"""``make bench ARGS="--channel telegram"``: posbot's Telegram channel at N merchants at once,
over real HTTP on 127.0.0.1, by long polling and by webhook, beside a plain aiogram bot doing the
same conversation (``telegram_plain``) against the same server with the same limits.
``--runtime aiogram,ptb`` measures posbot on each Telegram runtime in the same run, beside the
one plain bot.

Each run gets a fresh fake Bot API server and its merchants in a process of their own
(``telegram_api``); the bot under test runs here, in this process, alone. posbot runs as
``posbot run`` runs it: the app ``make run`` builds (SQLite file under the workdir, WAL, the
sandbox provider in process), its TelegramChannel, the background work (retries, status
polling) and — for the webhook — its FastAPI app on uvicorn. Telegram's flood limits (1 msg/s a
chat, 30/s a bot) would measure nothing but the limits, so the server and posbot's Pacer both
get generous ones (``LIMITS``); the plain bot has no pacer and needs none under them.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import gc
import json
import os
import statistics
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from bench.posbot_load import WARM_UP, make_app
from bench.telegram_plain import HOOK_PATH, SECRET, running_plain
from bot.channels.pacing import Pacer
from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_port import RUNTIMES
from bot.http import make_http
from bot.server import background, listen

ROOT = Path(__file__).resolve().parents[1]
LIMITS = {"per_chat": 100.0, "burst": 100, "per_bot": 100_000.0}  # server and Pacer alike
MODES = ("polling", "webhook")
__all__ = ["LIMITS", "MODES", "RUNTIMES", "describe_limits", "measure_telegram"]
BUSY = 0.85  # the harness process this busy: it, not the bot, may be what limits the rate


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def loopback_only() -> None:
    """Calls to 127.0.0.1 never go through a proxy that an environment variable names (aiogram's
    session reads them): nothing of the bench leaves this machine."""
    named = f"{os.environ.get('NO_PROXY', '')},{os.environ.get('no_proxy', '')}".split(",")
    hosts = sorted({h for h in named if h} | {"127.0.0.1", "localhost"})
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = ",".join(hosts)


def describe_limits() -> str:
    return (
        f"limits, on the fake Bot API server and posbot's Pacer alike: "
        f"{LIMITS['per_chat']:g} msg/s a chat (bursts of {LIMITS['burst']}), "
        f"{LIMITS['per_bot']:g} msg/s a bot (Telegram's: 1 and 30); webhook max_connections "
        f"40 (Telegram's default, neither bot sets it); plain bot: aiogram Dispatcher + "
        f"MemoryStorage, start_polling / SimpleRequestHandler on aiohttp (answers the POST at "
        f"once, aiogram's default); posbot: TelegramChannel on the runtime named, FastAPI on "
        f"uvicorn for the webhook"
    )


@dataclass
class Outcome:
    """One bot, one mode, N merchants: what the merchants' side measured."""

    updates: int = 0
    seconds: float = 0.0
    tickets: int = 0
    latencies: list[float] = field(default_factory=list)  # ms, available → answer arrived
    from_action: list[float] = field(default_factory=list)  # ms, merchant's action → answer
    harness_cpu: float = 0.0  # share of one core the server and merchants used
    bot_cpu: float = 0.0  # share of one core the bot's process used
    retry_afters: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    contact_refused: int = 0  # merchants whose shared contact got a warning (then typed it)

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0


class TelegramSide:
    """The fake Bot API server and the merchants, as a child process (``telegram_api``)."""

    def __init__(self, merchants: int) -> None:
        self.merchants = merchants
        self.url = self.token = ""
        self._process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> TelegramSide:
        args = [f"--merchants={self.merchants}", f"--warm={WARM_UP}", "--start=1000"]
        args += [f"--per-chat={LIMITS['per_chat']}", f"--burst={LIMITS['burst']}"]
        args += [f"--per-bot={LIMITS['per_bot']}"]
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.telegram_api", *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            cwd=ROOT, env={**os.environ, "PYTHONPATH": path}, limit=1 << 26,
        )  # fmt: skip
        hello = await self._read()
        self.url, self.token = hello["url"], hello["token"]
        return self

    async def run(self) -> dict[str, Any]:
        """Tell the merchants to go (the bot is up); what they measured."""
        self._write("go")
        result: dict[str, Any] = (await self._read())["result"]
        return result

    async def __aexit__(self, *exc: object) -> None:
        process = self._process
        if process is None:
            return
        with contextlib.suppress(ConnectionError):
            self._write("stop")
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()

    def _write(self, line: str) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(f"{line}\n".encode())

    async def _read(self) -> dict[str, Any]:
        assert self._process is not None and self._process.stdout is not None
        line = await self._process.stdout.readline()
        if not line:
            raise SystemExit("the Bot API server's process ended early (see above)")
        return dict(json.loads(line))


@contextlib.asynccontextmanager
async def running_posbot(
    workdir: Path, merchants: int, url: str, token: str, mode: str, runtime: str
) -> AsyncIterator[list[str]]:
    """posbot's Telegram channel as ``posbot run`` runs it, on ``runtime``; yields a list that
    gets the problems found in the store afterwards (every merchant filed once, tickets
    distinct)."""
    sock = listen("127.0.0.1", 0) if mode == "webhook" else None
    hook: dict[str, Any] = {}
    if sock is not None:
        port = sock.getsockname()[1]
        hook = {"telegram_webhook_url": f"http://127.0.0.1:{port}{HOOK_PATH}"}
        hook["telegram_webhook_secret"] = SECRET
    app, provider, _ = make_app(
        workdir,
        merchants + WARM_UP,
        telegram_token=token,
        telegram_api_base=url,
        telegram_runtime=runtime,
        **hook,
    )
    pacer = Pacer(
        per_chat=LIMITS["per_chat"], burst=int(LIMITS["burst"]), per_bot=LIMITS["per_bot"]
    )
    channel = TelegramChannel(app.settings, app, pacer=pacer)
    stopping = asyncio.Event()
    problems: list[str] = []
    server: uvicorn.Server | None = None
    serving: asyncio.Task[None] | None = None
    await channel.start()
    worker = asyncio.create_task(background(app.runtime, app.settings.poll_seconds, stopping))
    if sock is not None:
        config = uvicorn.Config(
            make_http(app, [channel]), log_level="warning", lifespan="on", log_config=None
        )
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield problems
    finally:
        if server is not None and serving is not None:
            server.should_exit = True
            await serving
        await channel.stop()
        stopping.set()
        await worker
        requests = app.store.requests()
        expected = merchants + WARM_UP
        if provider.filings != expected or len(requests) != expected:
            problems.append(
                f"posbot filed {provider.filings} requests at the provider and stored "
                f"{len(requests)} for {expected} merchants"
            )
        if len({r["ticket"] for r in requests}) != len(requests):
            problems.append("posbot issued a ticket twice")
        app.store.engine.dispose()
        if sock is not None:
            sock.close()


async def run_once(
    bot: str,
    mode: str,
    merchants: int,
    workdir: Path,
    profiler: cProfile.Profile | None = None,
    runtime: str = RUNTIMES[0],
) -> Outcome:
    """N merchants (after a warm-up) through the whole conversation with one bot (posbot on
    ``runtime``, or the plain one)."""
    gc.collect()
    async with TelegramSide(merchants) as side:
        problems: list[str] = []
        if bot == "posbot":
            running: contextlib.AbstractAsyncContextManager[Any] = running_posbot(
                workdir / f"telegram-{mode}", merchants, side.url, side.token, mode, runtime
            )
        else:
            running = running_plain(side.url, side.token, mode)
        async with running as found:
            if profiler:
                profiler.enable()
            result = await side.run()
            if profiler:
                profiler.disable()
        problems += found or []
    problems += result["failures"]
    tickets = result["tickets"]
    if len(tickets) != merchants or len(set(tickets)) != merchants:
        problems.append(f"{len(set(tickets))} distinct tickets for {merchants} merchants")
    if problems:
        who = f"{bot} on {runtime}" if bot == "posbot" else bot
        raise SystemExit(f"{who} ({mode}) failed:\n" + "\n".join(problems[:10]))
    return Outcome(
        result["updates"],
        result["seconds"],
        len(tickets),
        [s * 1000 for s in result["latencies"]],
        [s * 1000 for s in result["from_action"]],
        result["server_cpu"],
        result["bot_cpu"],
        result["retry_afters"],
        result["calls"],
        result["contact_refused"],
    )


def figures(posbot: Outcome, plain: Outcome) -> dict[str, Any]:
    def side(o: Outcome) -> dict[str, Any]:
        return {
            "updates": o.updates,
            "tickets": o.tickets,
            "updates_s": round(o.per_second, 1),
            "p50_ms": round(statistics.median(o.latencies), 2),
            "p99_ms": round(percentile(o.latencies, 0.99), 2),
            "from_action_p50_ms": round(statistics.median(o.from_action), 2),
            "from_action_p99_ms": round(percentile(o.from_action, 0.99), 2),
            "harness_cpu": round(o.harness_cpu, 2),
            "bot_cpu": round(o.bot_cpu, 2),
            "retry_afters": o.retry_afters,
            "contact_refused": o.contact_refused,
        }

    return {
        "ratio": round(posbot.per_second / plain.per_second, 3) if plain.per_second else 0.0,
        "posbot": side(posbot),
        "plain": side(plain),
        "posbot_calls": posbot.calls,
        "plain_calls": plain.calls,
    }


def printed(merchants: int, mode: str, f: dict[str, Any], runtime: str = RUNTIMES[0]) -> str:
    """A mode's figures on one runtime: the ratio, then a line for each bot — latency from the
    update being available to the bot, and from the merchant's action (which adds the time the
    update waited at the server for a webhook connection)."""

    def shown(name: str) -> str:
        s = f[name]
        label = f"{name} ({runtime})" if name == "posbot" else name
        return (
            f"    {label:<16} {s['updates_s']:7.1f} upd/s  p50 {s['p50_ms']:9.1f} ms  "
            f"p99 {s['p99_ms']:9.1f} ms  (from the action: p50 {s['from_action_p50_ms']:9.1f}"
            f" ms, p99 {s['from_action_p99_ms']:9.1f} ms)  CPU: bot {s['bot_cpu']:.0%}, "
            f"harness {s['harness_cpu']:.0%}  [{s['updates']} updates, {s['tickets']} tickets]"
        )

    return (
        f"{merchants:>6} merchants, {mode}, posbot on {runtime}: ratio {f['ratio']:.2f} "
        f"(posbot/plain updates/s)\n"
        f"{shown('posbot')}\n{shown('plain')}"
    )


async def measure_telegram(
    merchants: int,
    workdir: Path,
    profile: bool,
    modes: tuple[str, ...] = MODES,
    runtimes: tuple[str, ...] = RUNTIMES[:1],
) -> dict[str, Any]:
    """Each mode: the plain bot, then posbot on each runtime. (The core bench runs the plain
    bot before and after posbot against drift; here posbot's runs take minutes at 1,000
    merchants, and one plain run keeps the whole bench near a quarter of an hour.) A mode's
    figures are the first runtime's; with several, ``runtimes`` holds each one's."""
    loopback_only()
    result: dict[str, Any] = {"merchants": merchants}
    for mode in modes:
        plain = await run_once("plain", mode, merchants, workdir)
        warn(plain, "plain")
        each: dict[str, Any] = {}
        for runtime in runtimes:
            profiler = cProfile.Profile() if profile else None
            posbot = await run_once("posbot", mode, merchants, workdir, profiler, runtime)
            each[runtime] = {"runtime": runtime, **figures(posbot, plain)}
            print(printed(merchants, mode, each[runtime], runtime), flush=True)
            warn(posbot, f"posbot ({runtime})")
            if profiler:
                print(f"  posbot's top costs ({mode}, {runtime}):")
                print_profile(profiler)
                dump = os.environ.get("POSBOT_BENCH_DUMP")
                if dump:  # for pstats: who calls what
                    profiler.dump_stats(dump)
        result[mode] = {**each[runtimes[0]]}
        if len(runtimes) > 1:
            result[mode]["runtimes"] = each
    return result


def warn(o: Outcome, name: str) -> None:
    """What makes a run's figures doubtful, said under them."""
    if o.harness_cpu > BUSY:
        print(f"  warning: the harness was {o.harness_cpu:.0%} busy with {name}: "
              "the rate may be the harness's, not the bot's")  # fmt: skip
    if o.retry_afters:
        print(f"  warning: {name} was given {o.retry_afters} 429s")
    if o.contact_refused:
        print(f"  warning: {name} answered {o.contact_refused} merchants' own shared "
              "contact with a warning; they typed their number instead")  # fmt: skip


def print_profile(profiler: cProfile.Profile) -> None:
    import io
    import pstats

    saved = os.environ.get("POSBOT_BENCH_PSTATS")  # a file for pstats / snakeviz, when set
    if saved:
        profiler.dump_stats(saved)
    out = io.StringIO()
    order = os.environ.get("POSBOT_BENCH_SORT", "tottime")  # or cumulative
    top = int(os.environ.get("POSBOT_BENCH_TOP", "12"))
    pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
    print(out.getvalue())
