"""Chaos: posbot processes killed with SIGKILL wherever they are — between the provider's answer
and its commit among other places, and restarted up to 31 minutes later — and two processes on
one SQLite file at once. Afterwards every terminal is filed exactly once at the provider, every
ticket is known to posbot, every merchant was told it once, and /status agrees.

The processes are ``tests/chaos/worker.py``: real processes, a real SQLite file, a sandbox
provider with a file of its own that outlives them, as a real provider would."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import create_engine, text

from bot.settings import PROJECT, Settings
from tests.chaos.worker import CHANNEL, FIRST, TOLD, user

# kills per run (each a process started and killed, ~3 s); POSBOT_CHAOS_KILLS=100 for a soak
KILLS = int(os.environ.get("POSBOT_CHAOS_KILLS", "20"))
LEASE_GAP = 61  # seconds a restart comes "later": the dead process's claims have run out
LONG_GAP = 31 * 60  # ... and sometimes more than the phone check's 30 minutes


class Worker:
    def __init__(
        self,
        tmp: Path,
        merchants: int,
        *,
        kill_after_answer: float,
        seed: int,
        extra: Sequence[str] = (),
    ) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.chaos.worker",
                str(tmp / "posbot.db"),
                str(tmp / "sandbox.db"),
                "--merchants",
                str(merchants),
                "--kill-after-answer",
                str(kill_after_answer),
                "--clock-offset-file",
                str(tmp / "offset"),
                "--seed",
                str(seed),
                "--sms-log",
                str(tmp / "sms.log"),
                *extra,
            ],
            cwd=PROJECT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(PROJECT)},
        )

    def ready(self) -> bool:
        """Wait until it has built the app; False when it died before."""
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip() == "READY"

    def finish(self, timeout: float) -> tuple[int, str]:
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out + err


def rows(tmp: Path, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(f"sqlite:///{tmp / sql.split('|')[0]}")
    with engine.connect() as connection:
        found = [tuple(r) for r in connection.execute(text(sql.split("|")[1])).all()]
    engine.dispose()
    return found


def check_every_terminal_filed_and_told_once(tmp: Path, merchants: int) -> None:
    at_provider = rows(tmp, "sandbox.db|SELECT serial, ticket FROM sandbox_request")
    serials = [f"BENCH{i:07d}" for i in range(FIRST, FIRST + merchants)]
    assert sorted(s for s, _ in at_provider) == serials, "one filing per terminal at the provider"
    known = dict(rows(tmp, "posbot.db|SELECT serial, ticket FROM request"))
    assert known == dict(at_provider), "every ticket known to posbot, and the same one"
    messages = rows(
        tmp, "posbot.db|SELECT user_id, payload FROM outbox WHERE kind = 'message' ORDER BY id"
    )
    serial_of = {user(i): f"BENCH{FIRST + i:07d}" for i in range(merchants)}
    for who, serial in serial_of.items():
        said = [json.loads(p) for u, p in messages if u == who]  # type: ignore[arg-type]
        told = [m for m in said if set(m["keys"]) & TOLD]
        assert len(told) == 1, f"{who} was told {len(told)} times"
        assert str(known[serial]) in told[0]["text"]
        handed = [k for m in said for k in m["keys"] if k.startswith("handoff.")]
        assert not handed, f"{who} was handed to a person: {handed}"
    pending = rows(tmp, "posbot.db|SELECT id FROM outbox WHERE kind = 'effect' AND done_at IS NULL")
    assert pending == [], "no effect left behind"


async def check_status_agrees(tmp: Path, merchants: int) -> None:
    from bot.bootstrap import build
    from bot.engine.events import InboundEvent
    from bot.providers.sandbox import SandboxProvider

    provider = SandboxProvider(database=f"sqlite:///{tmp / 'sandbox.db'}", review_step_seconds=1e6)
    settings = Settings(database_url=f"sqlite:///{tmp / 'posbot.db'}", _env_file=None)  # type: ignore[call-arg]
    app = build(settings, provider=provider)
    known = dict(rows(tmp, "posbot.db|SELECT serial, ticket FROM request"))
    for i in range(merchants):
        delivery = await app.runtime.receive(
            InboundEvent(CHANNEL, user(i), f"status-{i}", text="/status")
        )
        keys = [k for m in delivery.messages for k in m.payload["keys"]]
        assert keys[0] == "status.submitted", (user(i), keys)
        assert str(known[f"BENCH{FIRST + i:07d}"]) in delivery.messages[0].payload["text"]
    app.store.engine.dispose()


async def test_sigkill_anywhere_files_once_tells_once_and_status_agrees(tmp_path: Path) -> None:
    merchants = 40
    rng = random.Random(int(os.environ.get("POSBOT_CHAOS_SEED", "14")))
    offset = 0
    kills = self_kills = long_gaps = rounds = 0
    while (kills < KILLS or self_kills == 0 or long_gaps < 2) and rounds < 120:
        rounds += 1
        (tmp_path / "offset").write_text(str(offset))
        worker = Worker(tmp_path, merchants, kill_after_answer=0.04, seed=rounds)
        if worker.ready():
            try:
                code, _ = worker.finish(timeout=rng.uniform(0.05, 1.0))
                self_kills += code == -signal.SIGKILL  # died between an answer and its commit
                kills += code == -signal.SIGKILL
            except subprocess.TimeoutExpired:
                worker.process.send_signal(signal.SIGKILL)
                worker.process.communicate()
                kills += 1
        else:
            worker.process.send_signal(signal.SIGKILL)
            worker.process.communicate()
        offset += LEASE_GAP
        if rounds % 5 == 0:
            offset += LONG_GAP
            long_gaps += 1
    print(f"{rounds} rounds, {kills} kills ({self_kills} after an answer), {long_gaps} long gaps")
    assert kills >= KILLS and self_kills > 0, (kills, self_kills)
    (tmp_path / "offset").write_text(str(offset))
    code, output = Worker(tmp_path, merchants, kill_after_answer=0.0, seed=0).finish(timeout=120)
    assert code == 0 and "DONE" in output, output[-3000:]
    check_every_terminal_filed_and_told_once(tmp_path, merchants)
    await check_status_agrees(tmp_path, merchants)


async def test_two_processes_on_one_file_file_and_sweep_once(tmp_path: Path) -> None:
    """Two processes answer the same merchants and sweep the same outbox at once."""
    merchants = 20
    (tmp_path / "offset").write_text("0")
    first = Worker(tmp_path, merchants, kill_after_answer=0.0, seed=1)
    assert first.ready()  # the schema exists before the second starts
    second = Worker(tmp_path, merchants, kill_after_answer=0.0, seed=2)
    for worker in (first, second):
        code, output = worker.finish(timeout=120)
        assert code == 0 and "DONE" in output, output[-3000:]
    check_every_terminal_filed_and_told_once(tmp_path, merchants)
    sms = (tmp_path / "sms.log").read_text().split()
    assert sorted(sms) == sorted(set(sms)) and len(sms) == merchants, "one code per merchant"
    await check_status_agrees(tmp_path, merchants)
