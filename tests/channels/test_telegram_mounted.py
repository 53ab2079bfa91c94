"""posbot inside an operator's own bot, on each runtime: an aiogram Dispatcher that includes
``channel.router``, a python-telegram-bot Application that ``channel.register``s posbot's
handlers. The operator's handlers come first; posbot gets what they leave, committed before the
handler returns, and a redelivered update changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bot.channels.telegram import TelegramChannel
from tests.chat import Bot
from tests.telegram import updates as u
from tests.telegram.bot_api import BotAPIServer

USER = 626262
Feed = Callable[[dict[str, Any]], Awaitable[None]]


def update(update_id: int, text: str) -> dict[str, Any]:
    sender = u.user(USER, first_name="M", language_code="zh-hans")
    message = u.text_message(update_id, date=1_700_000_000, sender=sender, text=text)
    return {"update_id": update_id, "message": message}


async def with_aiogram(
    channel: TelegramChannel, server: BotAPIServer, seen: list[str], go: Callable[[Feed], Any]
) -> None:
    from aiogram import Bot as AiogramBot
    from aiogram import Dispatcher, Router
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.filters import Command
    from aiogram.types import Message, Update

    own = Router(name="operator")

    @own.message(Command("ping"))
    async def ping(message: Message) -> None:
        seen.append(str(message.text))

    dp = Dispatcher()
    dp.include_router(own)
    dp.include_router(channel.router)  # after the operator's own
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.url))
    bot = AiogramBot(server.token, session=session)
    try:

        async def feed(raw: dict[str, Any]) -> None:
            await dp.feed_update(bot, Update.model_validate(raw, context={"bot": bot}))

        await go(feed)
    finally:
        await session.close()


async def with_ptb(
    channel: TelegramChannel, server: BotAPIServer, seen: list[str], go: Callable[[Feed], Any]
) -> None:
    from telegram import Update
    from telegram.ext import Application, CommandHandler

    application = Application.builder().token(server.token).base_url(f"{server.url}/bot").build()

    async def ping(update: Update, _context: object) -> None:
        assert update.message is not None
        seen.append(str(update.message.text))

    application.add_handler(CommandHandler("ping", ping))
    channel.register(application)  # after the operator's own
    await application.initialize()
    try:

        async def feed(raw: dict[str, Any]) -> None:
            await application.process_update(Update.de_json(raw, application.bot))

        await go(feed)
    finally:
        await application.shutdown()


async def test_an_operators_own_bot_hands_posbot_what_its_handlers_leave(
    tmp_path: Path, telegram_runtime: str
) -> None:
    bot = Bot(tmp_path)
    async with BotAPIServer() as server:
        settings = SimpleNamespace(
            telegram_runtime=telegram_runtime,
            telegram_token=server.token,
            telegram_api_base=server.url,
            telegram_webhook_url=None,
            telegram_webhook_secret=None,
            default_locale="zh_CN",
        )
        channel = TelegramChannel(settings, bot.app)  # type: ignore[arg-type]
        seen: list[str] = []

        async def go(feed: Feed) -> None:
            await feed(update(1, "/ping"))  # the operator's
            assert seen == ["/ping"] and bot.app.store.count("conversation") == 0
            await feed(update(2, "/start"))  # posbot's: committed when the handler returns
            assert bot.app.store.count("conversation") == 1
            queued = len(bot.app.runtime.outgoing("telegram", str(USER)))
            assert queued >= 1, "posbot's welcome waits in the outbox for its sender"
            await feed(update(2, "/start"))  # redelivered: nothing changes
            assert len(bot.app.runtime.outgoing("telegram", str(USER))) == queued

        mounted = with_aiogram if telegram_runtime == "aiogram" else with_ptb
        try:
            await mounted(channel, server, seen, go)
        finally:
            await channel.stop()
