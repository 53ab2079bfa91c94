"""The Telegram channel, on aiogram 3: polling or a webhook in, one paced sender out.

Delivery you can trust, which aiogram's defaults do not give: an update is confirmed to
Telegram (the next ``offset``, or the webhook's 200) only once its event is committed; its dedup
key is its ``update_id`` (per bot), so a redelivered update changes nothing; updates of one chat
are handled in order, different chats at once. A tap on a button of an earlier message gets a
short notice and changes nothing; a tap that counts is answered and its message edited to show
the choice, so the chat reads like a form being filled in — or, when the answer replaces it
(a ticked checklist), edited into that answer.

An operator with an aiogram bot of their own includes ``channel.router`` in their Dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections import defaultdict
from collections.abc import Awaitable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiogram import Bot, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, CallbackQuery, Message, Update
from fastapi import FastAPI, Request, Response

from bot.bootstrap import App
from bot.channels.agent_chat import announce_waiting
from bot.channels.base import Channel
from bot.channels.pacing import Pacer
from bot.channels.telegram_messages import CHANNEL, event_of, keep_response_models, label_of
from bot.channels.telegram_sender import TelegramSender
from bot.i18n import resolve_locale
from bot.settings import Settings

T = TypeVar("T")
log = logging.getLogger("posbot.telegram")
COMMANDS = ("start", "deregister", "suspend", "status", "agent", "cancel", "help", "lang")
POLL_TIMEOUT = 25  # seconds a getUpdates waits for news
ALLOWED = ["message", "callback_query"]
WEBHOOK_CONNECTIONS = 100  # Telegram's most: each POST is answered only once committed
TYPING_AFTER, TYPING_EVERY = 1.0, 4.5  # seconds: Telegram shows "typing…" for about five


def _plain(value: Any) -> str:
    return str(value.get_secret_value() if hasattr(value, "get_secret_value") else value or "")


class TelegramChannel(Channel):
    name = CHANNEL

    def __init__(self, settings: Settings, app: App, *, pacer: Pacer | None = None) -> None:
        self.settings, self.app = settings, app
        keep_response_models()
        root = settings.telegram_api_base
        session = AiohttpSession(api=TelegramAPIServer.from_base(str(root))) if root else None
        self.bot = Bot(_plain(settings.telegram_token), session=session)
        self.bot_id = self.bot.id  # the token's number: dedup keys are per bot
        self.webhook_url = _plain(settings.telegram_webhook_url) or None
        self.webhook_secret = _plain(settings.telegram_webhook_secret)
        self.sender = TelegramSender(self.bot, app.runtime, pacer or Pacer())
        self.router = self._router()
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: list[asyncio.Task[None]] = []
        self._working: set[asyncio.Task[None]] = set()  # updates past their commit, still going

    # -- lifecycle ---------------------------------------------------------------------------------

    def describe(self) -> str:
        how = f"webhook {self.webhook_url}" if self.webhook_url else "long polling"
        return f"telegram: bot {self.bot_id}, {how}"

    def mount(self, http: FastAPI) -> None:
        if self.webhook_url:
            http.add_api_route(
                urlsplit(self.webhook_url).path or "/", self.webhook, methods=["POST"]
            )

    async def start(self) -> None:
        await self._register_commands()
        if self.webhook_url:
            await self.bot.set_webhook(
                self.webhook_url,
                secret_token=self.webhook_secret or None,
                allowed_updates=ALLOWED,
                max_connections=WEBHOOK_CONNECTIONS,
            )
        else:
            await self.bot.delete_webhook(drop_pending_updates=False)
            self._tasks.append(asyncio.create_task(self.poll()))
        self._tasks.append(asyncio.create_task(self.sender.run()))
        agent_chat = getattr(self.settings, "telegram_agent_chat", None)
        if agent_chat is not None:
            self._tasks.append(asyncio.create_task(self._announce(int(agent_chat))))

    async def _announce(self, chat: int) -> None:
        """New waiting conversations, told to the agents' group."""
        settings = self.settings
        console = f"http://{settings.http_host}:{settings.http_port}/console"

        async def send(text: str) -> object:
            return await self.sender.call(str(chat), lambda: self.bot.send_message(chat, text))

        await announce_waiting(
            self.app.store, self.app.engine.catalog, settings.default_locale, console, send
        )

    async def stop(self) -> None:
        running = [*self._tasks, *self._working]
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.bot.session.close()

    async def _register_commands(self) -> None:
        catalog = self.app.engine.catalog
        for locale in catalog.locales:
            commands = [
                BotCommand(command=name, description=catalog.render(locale, f"command.{name}", {}))
                for name in COMMANDS
            ]
            language = locale.split("_")[0]
            await self.bot.set_my_commands(commands, language_code=language)
            if locale == self.settings.default_locale:
                await self.bot.set_my_commands(commands)

    # -- in ----------------------------------------------------------------------------------------

    async def poll(self) -> None:
        """Long polling; the offset moves past an update only once it is committed."""
        offset: int | None = None
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=POLL_TIMEOUT, allowed_updates=ALLOWED
                )
            except TelegramAPIError as exc:
                log.warning("getUpdates failed (%s); again shortly", type(exc).__name__)
                await asyncio.sleep(1.0)
                continue
            if updates:
                offset = await self.handle_batch(updates)

    async def handle_batch(self, updates: list[Update]) -> int:
        """Handle a batch, each chat in order, chats at once; the offset to confirm, as soon as
        every update's event is committed: past every update, or up to the first that failed
        (it and the later ones come again). What the updates lead to after their commit —
        provider calls, taps answered — goes on meanwhile, each chat still in order, so one
        slow provider call does not hold back the next getUpdates."""
        by_chat: dict[str, list[Update]] = defaultdict(list)
        for update in updates:
            by_chat[_chat_of(update)].append(update)
        loop = asyncio.get_running_loop()
        committed: dict[int, asyncio.Future[bool]] = {
            u.update_id: loop.create_future() for u in updates
        }

        async def chat_in_order(chat: str, chat_updates: list[Update]) -> None:
            async with self._locks[chat]:
                for n, update in enumerate(chat_updates):
                    done = committed[update.update_id]
                    try:
                        await self.handle(update, committed=done)
                    except Exception:
                        if done.done():  # committed: what failed after it is retried in time
                            log.exception("update %s: after its commit", update.update_id)
                            continue
                        log.exception("update %s not handled; it will come again", update.update_id)
                        for later in chat_updates[n:]:
                            committed[later.update_id].set_result(False)
                        return
                    if not done.done():  # nothing to commit (a stale tap, an ignored update)
                        done.set_result(True)

        for chat, chat_updates in by_chat.items():
            task = asyncio.create_task(chat_in_order(chat, chat_updates))
            self._working.add(task)
            task.add_done_callback(self._working.discard)
        await asyncio.gather(*committed.values())
        failed = [update_id for update_id, done in committed.items() if not done.result()]
        return min(failed) if failed else max(u.update_id for u in updates) + 1

    async def webhook(self, request: Request) -> Response:
        """Telegram's POST: refused without the right secret; 200 only once committed."""
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not self.webhook_secret or not hmac.compare_digest(given, self.webhook_secret):
            return Response(status_code=401)
        try:
            update = Update.model_validate(await request.json(), context={"bot": self.bot})
        except ValueError:
            return Response(status_code=400)
        async with self._locks[_chat_of(update)]:
            await self.handle(update)
        return Response(status_code=200)

    async def handle(
        self, update: Update, *, committed: asyncio.Future[bool] | None = None
    ) -> None:
        """One update: its event committed (``committed`` resolved then) and its effects run,
        then the tap answered."""
        event = event_of(update, self.bot_id)
        if event is None:
            return
        query = update.callback_query
        if query is not None and query.message is not None:
            latest = self.sender.latest_keyboard(event.user_id)
            if latest is not None and latest != query.message.message_id:
                locale = resolve_locale(event.locale, self.app.engine.catalog.locales, "zh_CN")
                notice = self.app.engine.catalog.render(locale, "telegram.stale_button", {})
                await self._quietly(self.bot.answer_callback_query(query.id, text=notice))
                return
        receiving = self.app.runtime.receive(event, committed=committed)
        delivery = await self._typing_while(event.user_id, receiving)
        if query is not None and isinstance(query.message, Message):
            await self._quietly(self.bot.answer_callback_query(query.id))
            if not any(m.payload.get("in_place") for m in delivery.messages):
                await self._show_choice(query.message, str(query.data))

    async def _typing_while(self, chat: str, work: Awaitable[T]) -> T:
        """Run ``work``; when it takes longer than a second (a provider call), the merchant
        sees "typing…" until it is done."""
        task = asyncio.ensure_future(work)
        wait = TYPING_AFTER
        while not task.done():
            done, _ = await asyncio.wait({task}, timeout=wait)
            if not done:
                action = self.bot.send_chat_action(int(chat), ChatAction.TYPING)
                await self._quietly(action)
                wait = TYPING_EVERY
        return task.result()

    async def _show_choice(self, message: Message, data: str) -> None:
        """The tapped message loses its keyboard and shows what was chosen."""
        label = label_of(message, data)
        chat = str(message.chat.id)
        text = f"{message.text or ''}\n\n› {label}" if label and message.text else None

        async def edit() -> Any:
            if text is not None:
                return await self.bot.edit_message_text(
                    text=text[:4096], chat_id=message.chat.id, message_id=message.message_id
                )
            return await self.bot.edit_message_reply_markup(
                chat_id=message.chat.id, message_id=message.message_id
            )

        await self.sender.call(chat, edit)

    @staticmethod
    async def _quietly(call: Any) -> None:
        try:
            await call
        except TelegramAPIError as exc:  # a tap already answered, a query too old
            log.info("telegram call refused: %s", exc)

    def _router(self) -> Router:
        router = Router(name="posbot")

        @router.message()
        async def on_message(message: Message, event_update: Update) -> None:
            await self.handle(event_update)

        @router.callback_query()
        async def on_tap(query: CallbackQuery, event_update: Update) -> None:
            await self.handle(event_update)

        return router


def _chat_of(update: Update) -> str:
    if update.message is not None:
        return str(update.message.chat.id)
    if update.callback_query is not None and update.callback_query.message is not None:
        return str(update.callback_query.message.chat.id)
    return "-"
