"""The Telegram channel against a Bot API server of our own on 127.0.0.1 (tests/telegram), on
both runtimes — the real aiogram Bot and the real python-telegram-bot Bot (the
``telegram_runtime`` fixture): the conversation by buttons, updates confirmed only once
committed and never handled twice, 429s honoured, a blocked bot, the webhook's secret, stale
buttons, long replies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bot.channels.pacing import Pacer
from bot.channels.telegram import TelegramChannel
from tests.chat import CODE, Bot
from tests.telegram.bot_api import BotAPIServer

USER = 424242
FAST = {"per_chat_per_second": 100.0, "burst": 100, "per_bot_per_second": 1000.0}


def settings(server: BotAPIServer, runtime: str, **more: Any) -> Any:
    return SimpleNamespace(
        telegram_runtime=runtime,
        telegram_token=server.token,
        telegram_api_base=server.url,
        telegram_webhook_url=None,
        telegram_webhook_secret=None,
        default_locale="zh_CN",
        **more,
    )


@pytest.fixture
async def fast_api() -> AsyncIterator[BotAPIServer]:
    async with BotAPIServer(**FAST) as server:
        yield server


@pytest.fixture
async def channel(
    tmp_path: Path, fast_api: BotAPIServer, telegram_runtime: str
) -> AsyncIterator[TelegramChannel]:
    started_channel = await started(tmp_path, fast_api, telegram_runtime)
    yield started_channel
    await started_channel.stop()


async def started(
    tmp: Path, server: BotAPIServer, runtime: str, pacer: Pacer | None = None
) -> TelegramChannel:
    bot = Bot(tmp)
    channel = TelegramChannel(
        settings(server, runtime), bot.app, pacer=pacer or Pacer(**FAST_PACER)
    )
    await channel.start()
    return channel


FAST_PACER = {"per_chat": 100.0, "burst": 100, "per_bot": 1000.0}


def texts(server: BotAPIServer) -> list[str]:
    return [m["text"] or "" for m in server.sent(USER)]


async def settled(channel: TelegramChannel, server: BotAPIServer, within: float = 30) -> None:
    """Until the bot has said all it will say for now (a bot that never falls quiet fails the
    test, naming what it still holds)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        count = len(server.sent(USER))
        await asyncio.sleep(0.15)
        waiting = channel.app.runtime.outgoing("telegram")
        quiet = not waiting and not channel.sender._busy
        if quiet and len(server.sent(USER)) == count:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"not quiet after {within} s: outbox {waiting!r}, sending to"
                f" {sorted(channel.sender._busy)}, {len(server.sent(USER))} sent"
            )


async def said(server: BotAPIServer, count: int) -> None:
    await server.wait_for(lambda s: len(s.sent(USER)) >= count, timeout=10)


def tap(server: BotAPIServer, prefix: str) -> None:
    """Tap the button whose data starts with ``prefix`` on the latest message with buttons."""
    for record in reversed(server.sent(USER)):
        if record["reply_markup"] and "inline_keyboard" in record["reply_markup"]:
            break
    buttons = [b for row in record["reply_markup"]["inline_keyboard"] for b in row]
    data = next(b["callback_data"] for b in buttons if b["callback_data"].startswith(prefix))
    server.tap(USER, record["message_id"], data)


async def test_the_whole_deregistration_by_buttons_and_a_shared_contact(
    tmp_path: Path, fast_api: BotAPIServer, channel: TelegramChannel
) -> None:
    actions = 0

    async def act(step: Any) -> None:
        nonlocal actions
        before = len(fast_api.sent(USER))
        step()
        actions += 1
        await fast_api.wait_for(lambda s: len(s.sent(USER)) > before, timeout=10)
        await settled(channel, fast_api)

    await act(lambda: fast_api.send_text(USER, "/start"))
    assert fast_api.commands, "commands registered"
    await act(lambda: tap(fast_api, "deregister"))
    for answer in ("102100058120001", "LKL8A2301234"):
        await act(lambda a=answer: fast_api.send_text(USER, a))
    (share,) = fast_api.sent(USER)[-1]["reply_markup"]["keyboard"][0]
    assert share["request_contact"] is True, "the phone question offers the merchant's number"
    await act(lambda: fast_api.share_contact(USER, "8613800138000"))  # their own, no plus
    await act(lambda: tap(fast_api, "yes"))
    assert not any("验证码" in t and "6 位" in t for t in texts(fast_api)), "no code needed"
    await act(lambda: tap(fast_api, "all"))  # every checklist item done, said once
    await act(lambda: tap(fast_api, "switch_provider"))
    await act(lambda: tap(fast_api, "yes"))
    await fast_api.wait_for(lambda s: any("SBX-2026-000100" in t for t in texts(s)), 10)
    assert all(answered for answered in fast_api.queries.values()), "every tap answered"
    tapped = [m for m in fast_api.sent(USER) if m.get("edits")]
    assert tapped and all(not m["reply_markup"] for m in tapped[:-1])
    assert actions <= 10, f"{actions} taps and messages from /start to the ticket"
    verified = channel.app.store.verification_of("102100058120001", "LKL8A2301234")
    assert verified.method == "telegram_contact" and verified.verified_for == f"telegram:{USER}"
    assert channel.app.store.requests()[0]["ticket"] == "SBX-2026-000100"


async def test_a_contact_of_someone_else_still_needs_the_code(
    fast_api: BotAPIServer, channel: TelegramChannel
) -> None:
    for text in ("/deregister", "102100058120001", "LKL8A2301234"):
        fast_api.send_text(USER, text)
        await settled(channel, fast_api)
    fast_api.share_contact(USER, "+8613800138000", contact_user_id=USER + 1)  # a colleague's
    await settled(channel, fast_api)
    tap(fast_api, "yes")
    await settled(channel, fast_api)
    assert "6 位验证码" in texts(fast_api)[-1]
    # the "share my phone" keyboard went away with the next plain message
    removed = [c for c in fast_api.calls if "remove_keyboard" in str(c.params.get("reply_markup"))]
    assert removed, "the reply keyboard is removed once the phone is answered"
    fast_api.send_text(USER, CODE)
    await settled(channel, fast_api)
    verified = channel.app.store.verification_of("102100058120001", "LKL8A2301234")
    assert verified.method == "otp"


async def test_the_checklist_is_one_message_ticked_in_place(
    fast_api: BotAPIServer, channel: TelegramChannel
) -> None:
    for text in ("/deregister", "102100058120001", "LKL8A2301234", "13800138000"):
        fast_api.send_text(USER, text)
        await settled(channel, fast_api)
    tap(fast_api, "yes")
    await settled(channel, fast_api)
    fast_api.send_text(USER, CODE)
    await settled(channel, fast_api)
    board = fast_api.sent(USER)[-1]
    count = len(fast_api.sent(USER))
    tap(fast_api, "tick:backup_daily")
    await settled(channel, fast_api)
    tap(fast_api, "tick:unbind")
    await settled(channel, fast_api)
    assert len(fast_api.sent(USER)) == count, "ticks edit the list, they send nothing new"
    edited = fast_api.sent(USER)[-1]
    assert edited["message_id"] == board["message_id"] and edited["edits"] == 2
    assert "✅ 备份日结报表" in edited["text"] and "⬜ 备份交易记录" in edited["text"]
    labels = [b["text"] for row in edited["reply_markup"]["inline_keyboard"] for b in row]
    assert "✅ 解绑终端（解除与门店、结算账户的绑定）" in labels
    assert all(fast_api.queries.values()), "every tap answered"
    tap(fast_api, "next")  # on to the four left unticked
    await settled(channel, fast_api)
    assert "第 1/4 项：备份交易记录" in texts(fast_api)[-1]


async def test_an_update_delivered_twice_is_handled_once(
    tmp_path: Path, fast_api: BotAPIServer, channel: TelegramChannel
) -> None:
    first = fast_api.send_text(USER, "/start")
    await said(fast_api, 1)
    count = len(fast_api.sent(USER))
    fast_api.redeliver(first)
    fast_api.send_text(USER, "/help")
    await fast_api.wait_for(lambda s: len(s.sent(USER)) > count, timeout=10)
    assert sum("/start" in (c.params.get("text") or "") for c in fast_api.calls) == 0
    menus = [t for t in texts(fast_api) if t == texts(fast_api)[0]]
    assert len(menus) == 1  # the redelivered /start said nothing again


async def test_a_burst_of_429s_loses_nothing_and_respects_retry_after(
    tmp_path: Path, telegram_runtime: str
) -> None:
    async with BotAPIServer() as server:  # Telegram's limits: 1/s a chat, bursts of 3
        too_eager = Pacer(**FAST_PACER)
        channel = await started(tmp_path, server, telegram_runtime, too_eager)
        try:
            server.force_429(2, retry_after=1)
            server.send_text(USER, "/start")
            server.send_text(USER, "/help")
            server.send_text(USER, "/status")
            await server.wait_for(lambda s: len(s.sent(USER)) >= 3, timeout=20)
            assert server.retry_afters, "the server did say 429"
            assert server.calls_inside_retry_after == []
            bodies = texts(server)
            assert len(bodies) == len(set(bodies)) or len(bodies) >= 3  # nothing twice
        finally:
            await channel.stop()


async def test_a_merchant_who_blocked_the_bot_is_marked_unreachable(
    tmp_path: Path, fast_api: BotAPIServer, channel: TelegramChannel
) -> None:
    fast_api.block(USER)
    fast_api.send_text(USER, "/start")
    await fast_api.wait_for(
        lambda s: channel.app.store.unreachable("telegram", str(USER)), timeout=10
    )
    calls = len(fast_api.calls)
    await fast_api.wait_for(lambda s: True)
    assert not channel.app.runtime.outgoing("telegram", str(USER))  # no retry loop
    assert len(fast_api.calls) <= calls + 2


async def test_the_webhook_refuses_a_wrong_or_missing_secret(
    tmp_path: Path, fast_api: BotAPIServer, telegram_runtime: str
) -> None:
    bot = Bot(tmp_path)
    hooked = {"telegram_webhook_url": "https://bot.example/tg/hook"}
    hooked["telegram_webhook_secret"] = "s3cret-token"
    plain = vars(settings(fast_api, telegram_runtime))
    channel = TelegramChannel(SimpleNamespace(**{**plain, **hooked}), bot.app)
    http = FastAPI()
    channel.mount(http)
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": USER, "type": "private"},
            "from": {"id": USER, "is_bot": False, "first_name": "M"},
            "text": "/start",
        },
    }
    transport = httpx.ASGITransport(app=http)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        missing = await client.post("/tg/hook", json=update)
        wrong = await client.post(
            "/tg/hook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"}
        )
        assert (missing.status_code, wrong.status_code) == (401, 401)
        assert bot.app.store.count("conversation") == 0  # nothing processed
        right = await client.post(
            "/tg/hook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
        )
        assert right.status_code == 200
        assert bot.app.store.count("conversation") == 1
    await channel.bot.close()


async def test_a_button_of_an_earlier_message_changes_nothing(
    tmp_path: Path, fast_api: BotAPIServer, channel: TelegramChannel
) -> None:
    fast_api.send_text(USER, "/start")
    await said(fast_api, 1)
    await settled(channel, fast_api)
    menu = next(m for m in reversed(fast_api.sent(USER)) if m["reply_markup"])
    fast_api.send_text(USER, "/start")
    await said(fast_api, 3)
    await settled(channel, fast_api)
    count = len(fast_api.sent(USER))
    data = menu["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    fast_api.tap(USER, menu["message_id"], data)
    await fast_api.wait_for(lambda s: s.callback_answers, timeout=10)
    assert fast_api.callback_answers[-1].get("text")  # a short notice
    assert len(fast_api.sent(USER)) == count  # and nothing else


async def test_a_long_reply_is_split_on_line_boundaries(
    tmp_path: Path, fast_api: BotAPIServer, channel: TelegramChannel
) -> None:
    fast_api.send_text(USER, "/start")
    await said(fast_api, 1)
    await settled(channel, fast_api)
    before = len(fast_api.sent(USER))
    long = "\n".join(f"line {n:04d} " + "x" * 50 for n in range(100))  # ~6,000 characters
    store = channel.app.store
    with store.transaction() as tx:
        found = tx.load("telegram", str(USER))
        assert found is not None
        tx.enqueue(found[0], "telegram", str(USER), [("message", {"text": long, "keys": []})])
    channel.app.runtime.notifier.notify("telegram")
    await said(fast_api, before + 2)
    parts = texts(fast_api)[before:]
    assert all(len(p) <= 4096 for p in parts) and "\n".join(parts) == long


async def test_a_slow_provider_call_shows_typing(
    tmp_path: Path, fast_api: BotAPIServer, channel: TelegramChannel
) -> None:
    provider = channel.app.runtime.runner.provider
    find = provider._do_find_terminal  # type: ignore[attr-defined]

    async def slow(serial: str) -> Any:
        await asyncio.sleep(1.6)
        return await find(serial)

    provider._do_find_terminal = slow  # type: ignore[attr-defined]
    for text in ("/deregister", "102100058120001", "LKL8A2301234", "13800138000"):
        fast_api.send_text(USER, text)
        await settled(channel, fast_api)
    assert not fast_api.chat_actions  # quick answers: no "typing"
    fast_api.send_text(USER, "对")  # the details are right: the provider is asked
    await fast_api.wait_for(lambda s: s.chat_actions, timeout=10)
    assert fast_api.chat_actions[-1][:2] == (USER, "typing")


async def test_a_tap_on_the_newest_message_counts_before_its_send_is_confirmed(
    fast_api: BotAPIServer, channel: TelegramChannel
) -> None:
    """The merchant sees a message the moment Telegram has it, and may tap it before Telegram's
    answer to its sendMessage reaches the bot (a slower HTTP client, a busy loop): that tap is
    on the newest message, not an earlier one. (It broke the bench on python-telegram-bot.)"""
    fast_api.send_text(USER, "/start")
    await said(fast_api, 1)
    await settled(channel, fast_api)
    menu = next(m for m in reversed(fast_api.sent(USER)) if m["reply_markup"])
    # as it stands while the menu's sendMessage is still in flight: an older keyboard known
    channel.sender._unrecorded_keyboards[str(USER)] = menu["message_id"] - 1
    count = len(fast_api.sent(USER))
    tap(fast_api, "deregister")
    await fast_api.wait_for(lambda s: len(s.sent(USER)) > count, timeout=10)
    await settled(channel, fast_api)
    assert not fast_api.callback_answers[-1].get("text"), "no stale-button notice"
    assert any("商户号" in t for t in texts(fast_api)[count:]), "the deregistration began"


async def test_the_webhook_answers_once_committed_not_after_the_provider_call(
    tmp_path: Path, fast_api: BotAPIServer, telegram_runtime: str
) -> None:
    """A provider call that takes its time does not hold one of Telegram's webhook connections:
    the POST is answered once its update is committed, and the call's answer still reaches the
    merchant afterwards."""
    bot = Bot(tmp_path)
    hooked = {"telegram_webhook_url": "https://bot.example/tg/hook"}
    hooked["telegram_webhook_secret"] = "s3cret-token"
    plain = vars(settings(fast_api, telegram_runtime))
    channel = TelegramChannel(
        SimpleNamespace(**{**plain, **hooked}), bot.app, pacer=Pacer(**FAST_PACER)
    )
    provider = channel.app.runtime.runner.provider
    find = provider._do_find_terminal  # type: ignore[attr-defined]
    asked, release = asyncio.Event(), asyncio.Event()

    async def held(serial: str) -> Any:
        asked.set()
        await release.wait()
        return await find(serial)

    provider._do_find_terminal = held  # type: ignore[attr-defined]
    http = FastAPI()
    channel.mount(http)
    await channel.start()
    secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
    transport = httpx.ASGITransport(app=http)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            texts_in = ("/deregister", "102100058120001", "LKL8A2301234", "13800138000", "对")
            for n, text in enumerate(texts_in, start=1):
                update = {
                    "update_id": n,
                    "message": {
                        "message_id": n,
                        "date": 0,
                        "chat": {"id": USER, "type": "private"},
                        "from": {"id": USER, "is_bot": False, "first_name": "M"},
                        "text": text,
                    },
                }
                answered = await asyncio.wait_for(
                    client.post("/tg/hook", json=update, headers=secret), 10
                )
                assert answered.status_code == 200
        assert asked.is_set() and not release.is_set()  # answered while the call is held
        before = len(fast_api.sent(USER))
        release.set()
        await said(fast_api, before + 1)  # the call's answer reaches the merchant
    finally:
        release.set()
        await channel.stop()
