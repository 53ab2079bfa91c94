"""An agent's reply reaches a Telegram merchant through the Telegram channel (the fake Bot API
server on 127.0.0.1, on each runtime — the real aiogram and python-telegram-bot clients): the
console writes to the outbox, the channel's sender delivers. The agents' Telegram group hears of
the waiting merchant once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

from bot.channels.pacing import Pacer
from bot.channels.telegram import TelegramChannel
from tests.chat import Bot
from tests.console.conftest import Agent
from tests.telegram.bot_api import BotAPIServer

FAST = {"per_chat_per_second": 100.0, "burst": 100, "per_bot_per_second": 1000.0}
USER = 515151
GROUP = -1001234567890


async def test_an_agents_reply_reaches_a_telegram_merchant(
    tmp_path: Path, bot: Bot, browsers: dict[str, Agent], telegram_runtime: str
) -> None:
    async with BotAPIServer(**FAST) as server:
        settings = SimpleNamespace(
            telegram_runtime=telegram_runtime,
            telegram_token=server.token,
            telegram_api_base=server.url,
            telegram_webhook_url=None,
            telegram_webhook_secret=None,
            default_locale="zh_CN",
            telegram_agent_chat=GROUP,
            http_host="127.0.0.1",
            http_port=8080,
        )
        channel = TelegramChannel(
            settings,  # type: ignore[arg-type]
            bot.app,
            pacer=Pacer(per_chat=100.0, burst=100, per_bot=1000.0),
        )
        await channel.start()
        try:
            server.send_text(USER, "/agent")
            await server.wait_for(
                lambda s: any("/cancel" in (m["text"] or "") for m in s.sent(USER)), 10
            )
            [row] = bot.app.store.inbox("waiting", "")
            alice = browsers["alice"]
            await alice.post(f"/console/c/{row['id']}/claim")
            await alice.post(f"/console/c/{row['id']}/reply", text="您好，我是客服小李。")
            await server.wait_for(
                lambda s: any(m["text"] == "您好，我是客服小李。" for m in s.sent(USER)), 10
            )
            await server.wait_for(lambda s: s.sent(GROUP), 10)
            await asyncio.sleep(2.5)  # another look at the queue: told once
            [told] = server.sent(GROUP)
            assert f"#{row['id']}" in told["text"]
            assert f"http://127.0.0.1:8080/console/c/{row['id']}" in told["text"]
        finally:
            await channel.stop()
