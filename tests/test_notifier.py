"""The in-process notifier: a hint wakes whoever waits, and a waiter can always be stopped."""

from __future__ import annotations

import asyncio

import pytest

from bot.notifier import Notifier


async def test_a_notification_wakes_the_waiter_and_is_used_up() -> None:
    notifier = Notifier()
    waiting = asyncio.create_task(notifier.wait("telegram", 5))
    await asyncio.sleep(0)
    notifier.notify("telegram")
    assert await waiting is True
    assert await notifier.wait("telegram", 0.01) is False  # used up: the next one waits


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
async def test_a_waiter_cancelled_as_it_is_notified_still_stops(turns: int) -> None:
    """A sender's loop is cancelled (the channel stops) just as a reply is notified: the loop
    ends. (asyncio.wait_for on Python 3.11 swallowed that cancellation, and the channel's stop
    then waited for ever.)"""
    notifier = Notifier()
    rounds = 0

    async def sender() -> None:
        nonlocal rounds
        while True:
            rounds += 1
            await notifier.wait("telegram", 5)

    task = asyncio.create_task(sender())
    await asyncio.sleep(0)
    notifier.notify("telegram")
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(2):
            await task
    assert task.cancelled()
