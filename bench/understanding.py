"""What understanding free text costs per message: the matcher (and the slot finder) run on
every labelled message of tests/understanding/ and on each typed answer of the bench merchants,
timed one by one. The engine calls it only for free text a step does not take by its own
words, so this is an upper bound on what it adds to such a message."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.understanding import Understanding
from bot.understanding.evaluate import read_set
from bot.validation import validators

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class UnderstandingCost:
    messages: int
    p50_us: float
    p99_us: float
    build_ms: float


def understanding_cost(typed: Iterable[str], rounds: int = 3) -> UnderstandingCost:
    started = time.perf_counter()
    understanding = Understanding.load(ROOT / "locales")
    build_ms = (time.perf_counter() - started) * 1000
    checks = validators()
    labelled = [
        (row.text, row.locale)
        for path in sorted((ROOT / "tests" / "understanding").glob("*.tsv"))
        for row in read_set(path)
    ]
    messages = labelled + [(text, "zh_CN") for text in typed]
    for text, locale in messages[:50]:  # warm: the converter's tables, phonenumbers' metadata
        understanding.read(text, locale, checks)
    times: list[float] = []
    for _ in range(rounds):
        for text, locale in messages:
            t0 = time.perf_counter()
            understanding.read(text, locale, checks)
            times.append((time.perf_counter() - t0) * 1e6)
    times.sort()
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
    return UnderstandingCost(len(messages), times[len(times) // 2], p99, build_ms)
