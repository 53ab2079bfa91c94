"""Writes whose waiting for the disk happens off the event loop.

A commit is an fsync: a millisecond, or more on a busy disk, in which a loop that made it
itself would send, read and parse nothing. The runtime's group commits, and a Telegram sender's
claims and receipts, have their transactions committed on one writer thread instead; the loop
goes on and learns of each once it is durable.

This process's writers take turns (``write_turn``): a transaction that begins on the loop
while the writer thread holds SQLite's write lock would wait for it in SQLite's busy handler,
asleep, with the loop. So a writer waits for its turn on the loop — asynchronously — and then
writes without meeting its own process's lock. (Other processes' writers still queue at BEGIN,
as before.) Writes made on the loop outside a turn stay correct; they may only wait a moment."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Engine

from bot.store.transaction import Tx

T = TypeVar("T")
WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="posbot-writer")
_TURNS: weakref.WeakKeyDictionary[Any, weakref.WeakKeyDictionary[Any, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


async def on_writer(work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` on the writer thread. A cancellation meanwhile waits for it to end (a
    moment, on the loop) before it goes on: nothing is left half written behind the caller."""
    running: Future[T] = WRITER.submit(work, *args)
    try:
        return await asyncio.shield(asyncio.wrap_future(running))
    except asyncio.CancelledError:
        running.exception()  # waits; its own failure does not matter to a cancelled caller
        raise


class OffLoop:
    engine: Engine
    clock: Callable[[], datetime]

    def write_turn(self) -> asyncio.Lock:
        """This process's turn to write, on the running loop."""
        loop = asyncio.get_running_loop()
        turns = _TURNS.setdefault(self, weakref.WeakKeyDictionary())
        turn = turns.get(loop)
        if turn is None:
            turn = turns[loop] = asyncio.Lock()
        return turn

    async def off_loop(self, write: Callable[..., T], *args: Any) -> T:
        """``write(*args)`` — a method that makes a short transaction of its own — on the
        writer thread, in this process's turn."""
        async with self.write_turn():
            return await on_writer(write, *args)

    @asynccontextmanager
    async def transaction_off_loop(self) -> AsyncIterator[Tx]:
        """A transaction made on the loop and committed on the writer thread, in this
        process's turn: the caller goes on once it is durable."""
        async with self.write_turn():
            with self.engine.connect() as connection:
                transaction = connection.begin()
                try:
                    yield Tx(connection, self.clock())
                except BaseException:
                    transaction.rollback()
                    raise
                await on_writer(transaction.commit)
