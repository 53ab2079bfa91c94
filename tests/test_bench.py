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
    assert last["http_posbot_msg_s"] > 0 and last["http_to_in_process"] > 0  # over HTTP too
    assert last["messages"] == 3 * 16
    assert [run["merchants"] for run in last["runs"]] == [2, 3]


def test_the_telegram_benchmark_runs_both_runtimes_and_the_plain_bot_both_ways(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    argv = ["--channel", "telegram", "--merchants", "2", "--workdir", str(tmp_path)]
    argv += ["--runtime", "aiogram,ptb"]  # posbot on both runtimes, beside one plain bot
    assert asyncio.run(main(argv)) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["channel"] == "telegram" and last["merchants"] == 2
    for mode in ("polling", "webhook"):
        assert last[mode]["runtime"] == "aiogram"  # a mode's figures: the first runtime's
        for runtime, figures in last[mode]["runtimes"].items():
            assert {"ratio", "posbot", "plain"} <= set(figures)
            for bot in ("posbot", "plain"):
                assert figures[bot]["tickets"] == 2, (mode, runtime, bot)
                assert figures[bot]["updates"] >= 2 * 9  # /start to the ticket, by taps
                assert figures[bot]["p99_ms"] >= figures[bot]["p50_ms"] > 0
        assert set(last[mode]["runtimes"]) == {"aiogram", "ptb"}
    assert (tmp_path / "telegram-polling" / "bench.db").exists()
