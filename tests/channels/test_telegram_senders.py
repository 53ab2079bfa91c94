"""Two senders over one outbox (as two ``posbot run`` processes on one database would be): each
chat's replies are claimed by one of them at a time, so every reply goes out once and in order;
a sender that stops gives back what it had not sent, and a lease that runs out (a process that
died) lets the other take the chat on."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.channels.pacing import Pacer
from bot.channels.telegram_port import connect
from bot.channels.telegram_sender import TelegramSender
from bot.engine.events import InboundEvent
from tests.chat import Bot
from tests.telegram.bot_api import BotAPIServer

FAST = {"per_chat_per_second": 100.0, "burst": 100, "per_bot_per_second": 1000.0}
FAST_PACER = {"per_chat": 100.0, "burst": 100, "per_bot": 1000.0}
CHATS = [str(1000 + n) for n in range(12)]


async def test_two_senders_send_each_reply_once_and_in_order(
    tmp_path: Path, telegram_runtime: str
) -> None:
    bot = Bot(tmp_path)
    app = bot.app
    async with BotAPIServer(**FAST) as server:

        def sender() -> TelegramSender:
            api = connect(telegram_runtime, server.token, server.url)
            return TelegramSender(api, app.runtime, Pacer(**FAST_PACER))

        first, second = sender(), sender()
        for chat in CHATS:
            await app.runtime.receive(InboundEvent("telegram", chat, f"{chat}:1", text="/start"))
            for n in range(5):
                app.runtime.service.send("telegram", chat, f"note {n}")
        tasks = [asyncio.create_task(s.run()) for s in (first, second)]
        welcome = len(app.runtime.outgoing("telegram", CHATS[0])) - 5
        total = len(CHATS) * (welcome + 5)
        await server.wait_for(lambda s: sum(len(s.sent(int(c))) for c in CHATS) >= total, 20)
        await asyncio.sleep(0.3)  # anything sent twice would show by now
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert len(server.sent(int(CHATS[0]))) == welcome + 5
        for chat in CHATS:
            texts = [m["text"] for m in server.sent(int(chat))]
            assert texts[welcome:] == [f"note {n}" for n in range(5)], texts  # once, in order
        assert not app.runtime.outgoing("telegram")
        for each in (first, second):
            await each.bot.close()


async def test_a_claim_held_by_a_dead_process_is_taken_on_after_its_lease(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    app = bot.app
    await app.runtime.receive(InboundEvent("telegram", "7", "7:1", text="/start"))
    held = app.store.claim_messages("telegram")  # a process claims the chat, then dies
    assert held and app.store.claim_messages("telegram") == []  # nobody else sends meanwhile
    bot.clock.advance(21)  # the lease runs out
    again = app.store.claim_messages("telegram")
    assert [item.id for item in again] == [item.id for item in held]
    app.store.release_claims([item.id for item in again])  # a sender that stops gives back
    assert [item.id for item in app.store.claim_messages("telegram")] == [i.id for i in held]


async def test_an_edit_telegram_finds_not_modified_is_done(
    tmp_path: Path, telegram_runtime: str
) -> None:
    """The same edit twice (a tap or a reply that came again): Telegram answers 400 "message
    is not modified", which is the message showing it already — done, not a refusal."""
    app = Bot(tmp_path).app
    async with BotAPIServer(**FAST) as server:
        api = connect(telegram_runtime, server.token, server.url)
        sender = TelegramSender(api, app.runtime, Pacer(**FAST_PACER))
        sent = await sender.call("77", lambda: api.send_message(77, "请选择", None))

        async def edit() -> bool:
            await api.edit_message_text(77, sent, "请选择\n\n› 注销终端")
            return True

        assert await sender.call("77", edit) is True
        assert await sender.call("77", edit) is True  # again: not modified, and still done
        missing = await sender.call("77", lambda: api.edit_message_text(77, 999_999, "x"))
        assert missing is None  # a real refusal stays one
        await api.close()
