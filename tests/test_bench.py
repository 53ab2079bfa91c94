"""The benchmark's own code, at a tiny N, so it cannot rot (no timing is asserted here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import main


def test_the_benchmark_runs_end_to_end_and_prints_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    code = asyncio.run(main(["--merchants", "2,3", "--workdir", str(tmp_path)]))
    assert code == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    keys = {
        "merchants",
        "messages",
        "posbot_msg_s",
        "aiogram_msg_s",
        "ratio",
        "p50_ms",
        "p99_ms",
        "rss_kb_per_idle_conversation",
    }
    assert keys <= set(last)
    assert last["merchants"] == 3 and last["tickets"] == 3
    assert last["messages"] == 3 * 16
    assert [run["merchants"] for run in last["runs"]] == [2, 3]


def test_the_telegram_benchmark_runs_both_bots_both_ways_and_prints_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    argv = ["--channel", "telegram", "--merchants", "2", "--workdir", str(tmp_path)]
    assert asyncio.run(main(argv)) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["channel"] == "telegram" and last["merchants"] == 2
    for mode in ("polling", "webhook"):
        figures = last[mode]
        assert {"ratio", "posbot", "plain"} <= set(figures)
        for bot in ("posbot", "plain"):
            assert figures[bot]["tickets"] == 2, (mode, bot)
            assert figures[bot]["updates"] >= 2 * 9  # /start to the ticket, by taps
            assert figures[bot]["p99_ms"] >= figures[bot]["p50_ms"] > 0
    assert (tmp_path / "telegram-polling" / "bench.db").exists()
