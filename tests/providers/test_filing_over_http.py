"""Filing over HTTP, the whole bot: a merchant's conversation, the HTTP adapter, the sandbox
service on 127.0.0.1. The sandbox counts filings per idempotency key, so "filed once" is the
provider's own word."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.providers.base import Terminal
from bot.providers.config import Breaker, Retries
from tests.chat import CODE, Client
from tests.providers.over_http import HttpBot

TOLD = {"submit.filed", "status.filed_late"}


async def control(bot: HttpBot, **switches: object) -> None:
    async with httpx.AsyncClient(base_url=bot.sandbox.url) as http:
        (await http.post("/_sandbox/faults", json=switches)).raise_for_status()


async def to_filing(client: Client, terminal: Terminal) -> list[str]:
    """A merchant's whole conversation up to "submit"; the keys the bot said last."""
    await client.send("/deregister")
    for answer in (terminal.merchant_id, terminal.serial, terminal.registered_phone[3:]):
        await client.send(answer)
    await client.tap("yes")
    await client.send(CODE)
    await client.tap("all")
    await client.tap("other")
    return (await client.tap("yes")).keys


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[HttpBot]:
    running = HttpBot(
        tmp_path,
        provider_changes={
            "timeout_seconds": 0.3,
            "retries": Retries(attempts=4, backoff_seconds=0.01, max_backoff_seconds=0.05),
            "breaker": Breaker(failures=2, reset_seconds=0.2),
        },
    )
    await running.start()
    yield running
    await running.stop()


async def test_happy_path_filed_and_followed_to_the_end_by_polling(bot: HttpBot) -> None:
    client = bot.client()
    keys = await to_filing(client, bot.provider._terminals["LKL8A2301234"])
    assert "submit.filed" in keys
    pushed = []
    for _ in range(4):
        pushed += (await client.wait(10)).keys
    assert pushed == ["status.under_review", "status.approved", "status.completed"]
    assert list(bot.sandbox.filings.values()) == [1]


async def test_5xx_and_timeouts_then_success_file_once_and_tell_once(bot: HttpBot) -> None:
    client = bot.client()
    await control(bot, fail_next=2, fail_status=503)  # spent on the lookups before filing
    terminal = bot.provider._terminals["LKL8A2301234"]
    await client.send("/deregister")
    for answer in (terminal.merchant_id, terminal.serial, terminal.registered_phone[3:]):
        await client.send(answer)
    await client.tap("yes")
    await client.send(CODE)
    await client.tap("all")
    await client.tap("other")
    await control(bot, fail_next=1, hang_next=2, hang_seconds=1.0)  # 503, then two lost answers
    said = await client.tap("yes")
    assert said.keys.count("submit.filed") == 1, said.keys
    assert bot.http_provider is not None and bot.http_provider.attempts >= 4
    assert list(bot.sandbox.filings.values()) == [1]
    [request] = bot.app.store.requests()
    assert str(request["ticket"]) in said.text


async def test_a_provider_down_for_the_whole_test_then_up_files_every_request_once(
    bot: HttpBot,
) -> None:
    terminals = bot.provider.generate_terminals(4, start=7000)
    clients = [bot.client(f"m{i}") for i in range(len(terminals))]
    keys = []
    for client, terminal in zip(clients, terminals, strict=True):
        await client.send("/deregister")
        for answer in (terminal.merchant_id, terminal.serial, terminal.registered_phone[3:]):
            await client.send(answer)
        await client.tap("yes")
        await client.send(CODE)
        await client.tap("all")
        await client.tap("other")
    await control(bot, down_for_seconds=3600)  # down from the moment they file
    began = time.monotonic()
    for client in clients:
        keys.append((await client.tap("yes")).keys)
    assert all("submit.delayed" in k for k in keys), keys
    assert time.monotonic() - began < 2.0  # the breaker answers at once once open
    assert bot.sandbox.filings == {}
    for _ in range(3):  # still down: retries are scheduled, nothing filed, nobody told twice
        bot.clock.advance(3600)
        time.sleep(0.25)  # the breaker lets one call try
        await bot.app.runtime.sweep()
    assert bot.sandbox.filings == {}
    await control(bot, down_for_seconds=0)  # up again
    bot.clock.advance(3600)
    time.sleep(0.25)
    await bot.app.runtime.sweep()
    assert sorted(bot.sandbox.filings.values()) == [1, 1, 1, 1]
    for client in clients:
        assert [k for k in client.read().keys if k in TOLD] == ["status.filed_late"]
    assert len(bot.app.store.requests()) == 4
