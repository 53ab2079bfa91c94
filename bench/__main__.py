"""``make bench``: posbot's whole conversation at N concurrent merchants, beside a plain
aiogram bot doing the same conversation in memory. The last line is JSON for scripts.

    python -m bench [--merchants 100,1000] [--workdir var/bench] [--profile]
    python -m bench --channel telegram [--modes polling,webhook] [--runtime aiogram,ptb] [...]

``--channel telegram`` runs the same merchants through posbot's Telegram channel over HTTP
instead (``bench/telegram_load.py``), on each runtime named (aiogram, the default; ptb).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import pstats
import statistics
import sys
from pathlib import Path

from bench.aiogram_bot import run_aiogram
from bench.memory import idle_conversations
from bench.posbot_load import Run, run_posbot, typed_like_a_merchant
from bench.understanding import understanding_cost
from bot.providers.sandbox import SandboxProvider


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def measure(merchants: int, workdir: Path, profile: bool) -> dict[str, object]:
    profiler = cProfile.Profile() if profile else None
    # the plain bot runs before and after posbot, and counts at its mean: the machine's speed
    # drifts (shared cores), and this keeps the drift out of the ratio
    scripts = [typed_like_a_merchant(t) for t in SandboxProvider().generate_terminals(merchants)]
    aio_messages, aio_seconds = await run_aiogram(scripts)
    gc.collect()
    if profiler:
        profiler.enable()
    run: Run = await run_posbot(workdir, merchants)
    if profiler:
        profiler.disable()
    if run.failures:
        raise SystemExit("posbot failed:\n" + "\n".join(run.failures[:10]))
    gc.collect()
    # the same run over HTTP: the sandbox service in its own process, the HTTP adapter
    http_run: Run = await run_posbot(workdir / "http", merchants, over_http=True)
    if http_run.failures:
        raise SystemExit("posbot over HTTP failed:\n" + "\n".join(http_run.failures[:10]))
    gc.collect()
    again_messages, again_seconds = await run_aiogram(scripts)
    aiogram_per_second = (aio_messages + again_messages) / (aio_seconds + again_seconds)
    idle = await idle_conversations(workdir / "idle", merchants)
    typed = {text for script in scripts[:100] for text in script if not text.startswith("/")}
    understanding = understanding_cost(sorted(typed))
    ms = [latency * 1000 for latency in run.latencies]
    waited = [wait * 1000 for wait in run.waits]
    http_ms = [latency * 1000 for latency in http_run.latencies]
    figures: dict[str, object] = {
        "merchants": merchants,
        "messages": run.messages,
        "tickets": len(run.tickets),
        "posbot_msg_s": round(run.per_second, 1),
        "aiogram_msg_s": round(aiogram_per_second, 1),
        "ratio": round(run.per_second / aiogram_per_second, 3),
        "p50_ms": round(statistics.median(ms), 3),
        "p95_ms": round(percentile(ms, 0.95), 3),
        "p99_ms": round(percentile(ms, 0.99), 3),
        "queued_p50_ms": round(statistics.median(waited), 1),
        "queued_p99_ms": round(percentile(waited, 0.99), 1),
        "http_posbot_msg_s": round(http_run.per_second, 1),
        "http_to_in_process": round(http_run.per_second / run.per_second, 3),
        "http_p50_ms": round(statistics.median(http_ms), 3),
        "http_p99_ms": round(percentile(http_ms, 0.99), 3),
        "events_per_commit": round(run.events_per_commit, 2),
        "db_kb": run.db_bytes // 1024,
        "rss_kb_per_idle_conversation": round(idle.rss_kb_per_conversation, 3),
        "heap_bytes_per_idle_conversation": round(idle.heap_bytes_per_conversation, 1),
        "understand_p50_us": round(understanding.p50_us, 1),
        "understand_p99_us": round(understanding.p99_us, 1),
        "understand_build_ms": round(understanding.build_ms, 1),
    }
    print(
        f"{merchants:>6} merchants  {run.messages:>7} messages  "
        f"posbot {run.per_second:8.1f} msg/s  aiogram {aiogram_per_second:8.1f} msg/s  "
        f"ratio {figures['ratio']:.2f}  p50 {figures['p50_ms']:.2f} ms  "
        f"p95 {figures['p95_ms']:.2f} ms  p99 {figures['p99_ms']:.2f} ms  "
        f"(queued: p50 {figures['queued_p50_ms']} ms, p99 {figures['queued_p99_ms']} ms)  "
        f"{run.events_per_commit:.1f} events/commit  db {figures['db_kb']} KB  "
        f"over HTTP: {http_run.per_second:.1f} msg/s "
        f"({figures['http_to_in_process']:.2f} of in-process, p50 {figures['http_p50_ms']} ms, "
        f"p99 {figures['http_p99_ms']} ms)  "
        f"idle: {idle.rss_kb_per_conversation:.2f} KB RSS, "
        f"{idle.heap_bytes_per_conversation:.0f} B heap per conversation"
    )
    print(
        f"        understanding free text: p50 {understanding.p50_us:.0f} µs, "
        f"p99 {understanding.p99_us:.0f} µs per message ({understanding.messages} messages; "
        f"matcher built in {understanding.build_ms:.0f} ms at start)"
    )
    if profiler:
        out = io.StringIO()
        order = os.environ.get("POSBOT_BENCH_SORT", "tottime")  # or cumulative
        top = int(os.environ.get("POSBOT_BENCH_TOP", "12"))
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
        print(out.getvalue())
    return figures


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--merchants", default="100,1000", help="comma-separated N values")
    parser.add_argument("--workdir", type=Path, default=Path("var/bench"))
    parser.add_argument("--profile", action="store_true", help="print posbot's top costs")
    parser.add_argument(
        "--channel",
        choices=("core", "telegram"),
        default="core",
        help="core: Runtime.receive in process (default); telegram: the Telegram channel",
    )
    parser.add_argument(
        "--modes", default="polling,webhook", help="telegram: polling, webhook or both"
    )
    parser.add_argument(
        "--runtime",
        default="aiogram",
        help="telegram: aiogram, ptb or both (comma-separated), beside the one plain bot",
    )
    args = parser.parse_args(argv)
    if args.channel == "telegram":
        return await main_telegram(args)
    results = [await measure(int(n), args.workdir, args.profile) for n in args.merchants.split(",")]
    last = results[-1]
    print(json.dumps({**last, "runs": results}, ensure_ascii=False))
    return 0


async def main_telegram(args: argparse.Namespace) -> int:
    # imported here: the core bench runs without the Telegram side's modules loaded
    from bench.telegram_load import LIMITS, MODES, RUNTIMES, describe_limits, measure_telegram

    modes = tuple(m for m in args.modes.split(",") if m)
    if not modes or not set(modes) <= set(MODES):
        raise SystemExit(f"--modes takes {', '.join(MODES)}, comma-separated")
    runtimes = tuple(r for r in args.runtime.split(",") if r)
    if not runtimes or not set(runtimes) <= set(RUNTIMES):
        raise SystemExit(f"--runtime takes {', '.join(RUNTIMES)}, comma-separated")
    print(describe_limits(), flush=True)
    results = [
        await measure_telegram(int(n), args.workdir, args.profile, modes, runtimes)
        for n in args.merchants.split(",")
    ]
    summary = {"channel": "telegram", "limits": LIMITS, **results[-1], "runs": results}
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
