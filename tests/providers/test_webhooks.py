"""Status webhooks from the sandbox service to posbot's HTTP app, both on 127.0.0.1: signed
ones move the request on and are pushed to the merchant once; a bad signature, a stale
timestamp and a replay are refused; duplicates and out-of-order deliveries tell nobody twice
and never move a request back."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.providers.receiver import webhook_path
from bot.providers.signing import EVENT_HEADER, signed_headers
from tests.chat import Client
from tests.providers.over_http import HttpBot
from tests.providers.sandbox_http import WEBHOOK_SECRET


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[HttpBot]:
    running = HttpBot(tmp_path)
    await running.start()
    yield running
    await running.stop()


async def filed(bot: HttpBot) -> tuple[Client, str]:
    client = bot.client()
    await client.to_the_code_question()
    await client.to_the_summary()
    said = await client.tap("yes")
    assert "submit.filed" in said.keys, said.keys
    [request] = bot.app.store.requests()
    return client, str(request["ticket"])


async def control(bot: HttpBot, path: str, **body: object) -> None:
    async with httpx.AsyncClient(base_url=bot.sandbox.url) as http:
        (await http.post(path, json=body or None)).raise_for_status()


def told(client: Client) -> list[str]:
    return [k for k in client.read().keys if k.startswith("status.")]


async def post(
    bot: HttpBot,
    event: dict[str, object],
    *,
    secret: str = WEBHOOK_SECRET,
    at: float | None = None,
    event_id: str | None = None,
) -> httpx.Response:
    body = json.dumps(event).encode()
    headers = {
        "content-type": "application/json",
        EVENT_HEADER: event_id or uuid.uuid4().hex,
        **signed_headers(secret, time.time() if at is None else at, body),
    }
    async with httpx.AsyncClient(base_url=bot.posbot_url) as http:
        return await http.post(webhook_path("sandbox"), content=body, headers=headers)


async def test_each_change_is_pushed_once_over_real_webhooks(bot: HttpBot) -> None:
    client, ticket = await filed(bot)
    await control(bot, "/_sandbox/faults", duplicate_webhooks=True)
    await control(bot, f"/_sandbox/requests/{ticket}/step")
    await control(bot, "/_sandbox/webhooks/tick")
    assert told(client) == ["status.under_review"]  # delivered twice, told once
    await control(bot, "/_sandbox/faults", duplicate_webhooks=False, reorder_webhooks=True)
    for _ in range(2):  # approved is held back; completed goes first, then approved
        await control(bot, f"/_sandbox/requests/{ticket}/step")
        await control(bot, "/_sandbox/webhooks/tick")
    assert told(client) == ["status.completed"]  # the late "approved" moved nothing back
    [request] = bot.app.store.requests()
    assert request["status"] == "completed"
    states = [e["state"] for e in bot.sandbox.webhooks.delivered]  # type: ignore[union-attr]
    assert states == ["under_review", "completed", "approved"]


async def test_bad_signature_stale_and_replay_are_refused(bot: HttpBot) -> None:
    client, ticket = await filed(bot)
    event = {"ticket": ticket, "state": "under_review", "reason": None}
    forged = await post(bot, event, secret="not-the-secret")
    assert (forged.status_code, forged.json()) == (401, {"error": "bad_signature"})
    stale = await post(bot, event, at=time.time() - 3600)
    assert (stale.status_code, stale.json()) == (401, {"error": "stale"})
    assert told(client) == []
    first = await post(bot, event, event_id="evt-1")
    assert (first.status_code, first.json()) == (200, {"changed": True})
    replay = await post(bot, event, event_id="evt-1")
    assert (replay.status_code, replay.json()) == (409, {"error": "replay"})
    again = await post(bot, event, event_id="evt-2")  # the same status, a new event id
    assert (again.status_code, again.json()) == (200, {"changed": False})
    older = await post(bot, {"ticket": ticket, "state": "submitted"}, event_id="evt-3")
    assert older.json() == {"changed": False}
    assert told(client) == ["status.under_review"]
    garbage = await post(bot, {"hello": "world"}, event_id="evt-4")
    assert garbage.status_code == 400
    async with httpx.AsyncClient(base_url=bot.posbot_url) as http:
        unsigned = await http.post(webhook_path("sandbox"), json=event)
    assert unsigned.status_code == 401
