"""Several processes on one SQLite file — chats, purges, upgrades, all starting at once — wait
for each other's write lock instead of failing with "database is locked"."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

from bot.settings import PROJECT
from bot.store.database import connect, migrate

PROCESSES = 20
MERCHANT = "/deregister\n102100058120001\n"


def test_migrations_started_together_run_one_after_the_other(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def start_up() -> None:
        try:
            start.wait()
            engine = connect(url)  # the first switches the new file to WAL
            migrate(engine)
            engine.dispose()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=start_up) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with closing(sqlite3.connect(tmp_path / "fresh.db")) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert len(db.execute("SELECT * FROM alembic_version").fetchall()) == 1


def test_a_database_at_head_is_not_migrated_again_nor_locked(tmp_path: Path) -> None:
    """Starting takes no write lock when there is nothing to migrate: another process's long
    write does not hold the start up."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    first = connect(url)
    migrate(first)
    first.dispose()
    writer = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process, in the middle of a write
    try:
        began = time.monotonic()
        again = connect(url)
        migrate(again)
        again.dispose()
        assert time.monotonic() - began < 5
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_twenty_processes_on_one_sqlite_file_never_find_it_locked(tmp_path: Path) -> None:
    """Every fifth process upgrades, every fifth purges, the rest chat (each as its own
    merchant); all start at once on a file that does not exist yet. About 40 s on 2 cores: each
    process imports and builds the whole app."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSBOT_")}
    env.update(
        PYTHONPATH=str(PROJECT),  # this checkout's code, not whatever is installed
        POSBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'posbot.db'}",
        POSBOT_SANDBOX_DATABASE=f"sqlite:///{tmp_path / 'sandbox.db'}",
        POSBOT_LOG_FILE=str(tmp_path / "posbot.log"),
        POSBOT_EXPORTS_DIR=str(tmp_path / "exports"),
        POSBOT_SANDBOX_CODE="246810",
        POSBOT_DEMO="true",
    )
    commands: list[tuple[list[str], str]] = []
    for n in range(PROCESSES):
        if n % 5 == 0:
            commands.append((["db", "upgrade"], ""))
        elif n % 5 == 1:
            commands.append((["db", "purge"], ""))
        else:
            commands.append((["chat", "--user", f"u{n}", "--wait", "0"], MERCHANT))
    running = [
        (
            args,
            text,
            subprocess.Popen(
                [sys.executable, "-m", "bot", *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=tmp_path,
            ),
        )
        for args, text in commands
    ]
    failed = []
    for args, text, process in running:
        out, err = process.communicate(text, timeout=180)
        if process.returncode != 0 or "database is locked" in out + err:
            failed.append((args, process.returncode, err[-2000:]))
    assert failed == [], failed
    assert "database is locked" not in (tmp_path / "posbot.log").read_text(encoding="utf-8")
    with closing(sqlite3.connect(tmp_path / "posbot.db")) as db:
        chats = sum(1 for args, _ in commands if args[0] == "chat")
        assert db.execute("SELECT count(*) FROM conversation").fetchone()[0] == chats
