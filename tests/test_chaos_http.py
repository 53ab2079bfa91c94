"""Chaos over HTTP: the sandbox is a service of its own (``posbot sandbox-provider``, its own
process and SQLite file, alive for the whole test), posbot processes file at it with the HTTP
adapter and are killed with SIGKILL wherever they are — between committing a filing and calling
the provider, between the provider's answer and its commit — then restarted. Afterwards every
terminal is filed once (the service's own count per idempotency key), every merchant was told
their ticket once, and /status agrees."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.providers.sandbox_server import loopback_socket
from bot.settings import PROJECT
from tests.chaos.worker import CODE, FIRST
from tests.test_chaos import (
    LEASE_GAP,
    Worker,
    check_every_terminal_filed_and_told_once,
    check_status_agrees,
)

MERCHANTS = 12
KILLS = 10
TOKEN = "chaos-sandbox-token"


@pytest.fixture
def sandbox_url(tmp_path: Path) -> Iterator[str]:
    sock = loopback_socket()
    port = sock.getsockname()[1]
    sock.close()  # the service binds it itself
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "sandbox-provider",
            "--port",
            str(port),
            "--review-seconds",
            "1000000",  # review never moves: every request stays open
            "--generate",
            str(MERCHANTS),
            "--generate-from",
            str(FIRST),
        ],
        cwd=tmp_path,
        env={
            **os.environ,
            "PYTHONPATH": str(PROJECT),
            "POSBOT_SANDBOX_DATABASE": f"sqlite:///{tmp_path / 'sandbox.db'}",
            "POSBOT_SANDBOX_TOKEN": TOKEN,
            "POSBOT_SANDBOX_CODE": CODE,
            "POSBOT_DEMO": "true",
            "POSBOT_LOG_FILE": str(tmp_path / "sandbox.log"),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("posbot sandbox-provider: http://127.0.0.1:"), (
        line + process.stderr.read() if process.poll() is not None else line
    )
    yield line.split(": ", 1)[1].strip()
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)


async def test_sigkill_anywhere_over_http_files_once_and_tells_once(
    tmp_path: Path, sandbox_url: str
) -> None:
    rng = random.Random(int(os.environ.get("POSBOT_CHAOS_SEED", "19")))
    extra = ["--sandbox-url", sandbox_url, "--sandbox-token", TOKEN]
    offset = kills = self_kills = rounds = 0
    while (kills < KILLS or self_kills == 0) and rounds < 60:
        rounds += 1
        (tmp_path / "offset").write_text(str(offset))
        worker = Worker(tmp_path, MERCHANTS, kill_after_answer=0.1, seed=rounds, extra=extra)
        if worker.ready():
            try:
                code, _ = worker.finish(timeout=rng.uniform(0.1, 1.5))
                self_kills += code == -signal.SIGKILL
                kills += code == -signal.SIGKILL
            except subprocess.TimeoutExpired:
                worker.process.send_signal(signal.SIGKILL)
                worker.process.communicate()
                kills += 1
        else:
            worker.process.send_signal(signal.SIGKILL)
            worker.process.communicate()
        offset += LEASE_GAP
    print(f"{rounds} rounds, {kills} kills ({self_kills} after an answer)")
    assert kills >= KILLS and self_kills > 0, (kills, self_kills)
    (tmp_path / "offset").write_text(str(offset))
    last = Worker(tmp_path, MERCHANTS, kill_after_answer=0.0, seed=0, extra=extra)
    code, output = last.finish(timeout=120)
    assert code == 0 and "DONE" in output, output[-3000:]
    check_every_terminal_filed_and_told_once(tmp_path, MERCHANTS)
    async with httpx.AsyncClient(base_url=sandbox_url) as http:
        counted = (await http.get("/_sandbox/filings")).json()
    assert sorted(counted["filings"].values()) == [1] * MERCHANTS, counted
    await check_status_agrees(tmp_path, MERCHANTS)
