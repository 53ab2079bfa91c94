"""Commits off the event loop: made on the writer thread, in this process's turn; a caller
cancelled during its commit learns of it only once the commit is done."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bot.store.database import connect
from bot.store.repository import Store


def store_at(tmp: Path) -> Store:
    engine = connect(f"sqlite:///{tmp / 'off-loop.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE item (n INTEGER)")
    return Store(engine)


def count(store: Store) -> int:
    with store.engine.connect() as connection:
        return int(connection.exec_driver_sql("SELECT count(*) FROM item").scalar() or 0)


async def test_the_commit_is_made_on_the_writer_thread_while_the_loop_goes_on(
    tmp_path: Path,
) -> None:
    store = store_at(tmp_path)
    committed_on: list[str] = []

    def slow_commit(_connection: Any) -> None:
        committed_on.append(threading.current_thread().name)
        time.sleep(0.2)  # a slow disk

    event.listen(store.engine, "commit", slow_commit)
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(ticking())
    async with store.transaction_off_loop() as tx:
        tx.cursor.execute("INSERT INTO item (n) VALUES (1)")
    ticker.cancel()
    assert committed_on and committed_on[0].startswith("posbot-writer")
    assert ticks >= 5, "the loop waited for the disk"
    assert count(store) == 1
    store.engine.dispose()


async def test_a_caller_cancelled_during_its_commit_leaves_it_whole(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    started = threading.Event()

    def slow_commit(_connection: Any) -> None:
        started.set()
        time.sleep(0.3)

    event.listen(store.engine, "commit", slow_commit)

    async def write() -> None:
        async with store.transaction_off_loop() as tx:
            tx.cursor.execute("INSERT INTO item (n) VALUES (1)")

    writing = asyncio.create_task(write())
    while not started.is_set():
        await asyncio.sleep(0.005)
    writing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writing
    assert count(store) == 1  # done, not half done, by the time the caller hears
    async with store.transaction_off_loop() as tx:  # and the turn is free again
        tx.cursor.execute("INSERT INTO item (n) VALUES (2)")
    assert count(store) == 2
    store.engine.dispose()
