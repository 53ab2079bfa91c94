"""The Telegram channel: polling or a webhook in, one paced sender out, on either runtime —
aiogram 3 (the default) or python-telegram-bot 22 (``POSBOT_TELEGRAM_RUNTIME=ptb``). Only the
Bot API port (``telegram_port``) differs between them; all that follows is shared, and speaks
Telegram's JSON.

Delivery you can trust, which neither library's defaults give: an update is confirmed to
Telegram (the next ``offset``, or the webhook's 200) only once its event is committed; its dedup
key is its ``update_id`` (per bot), so a redelivered update changes nothing; updates of one chat
are handled in order, different chats at once. A tap on a button of an earlier message gets a
short notice and changes nothing; a tap that counts is answered and its message edited to show
the choice, so the chat reads like a form being filled in — or, when the answer replaces it
(a ticked checklist), edited into that answer.

An operator with a bot of their own mounts posbot's conversations in it: an aiogram Dispatcher
includes ``channel.router``; a python-telegram-bot Application gets ``channel.register(app)``."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import logging
from collections import defaultdict
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response

from bot.bootstrap import App
from bot.channels.agent_chat import announce_waiting
from bot.channels.base import Channel
from bot.channels.pacing import Pacer
from bot.channels.telegram_messages import CHANNEL, chat_of, event_of, label_of
from bot.channels.telegram_port import RUNTIMES, Json, connect
from bot.channels.telegram_sender import TelegramSender
from bot.errors import PlatformError
from bot.fast_route import add_fast_route
from bot.i18n import resolve_locale
from bot.settings import Settings

if TYPE_CHECKING:
    from aiogram import Router
    from telegram.ext import Application

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
    max_attachment_bytes = 50_000_000  # the Bot API's sendDocument takes 50 MB from a bot

    def __init__(self, settings: Settings, app: App, *, pacer: Pacer | None = None) -> None:
        self.settings, self.app = settings, app
        self.library = getattr(settings, "telegram_runtime", RUNTIMES[0])  # aiogram or ptb
        token = _plain(settings.telegram_token)
        self.bot = connect(self.library, token, _plain(settings.telegram_api_base) or None)
        self.bot_id = int(token.split(":")[0])  # the token's number: dedup keys are per bot
        self.webhook_url = _plain(settings.telegram_webhook_url) or None
        self.webhook_secret = _plain(settings.telegram_webhook_secret)
        self.sender = TelegramSender(self.bot, app.runtime, pacer or Pacer())
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: list[asyncio.Task[None]] = []
        self._working: set[asyncio.Task[None]] = set()  # updates past their commit, still going

    # -- an operator's own bot ---------------------------------------------------------------------

    @functools.cached_property
    def router(self) -> Router:
        """For an aiogram Dispatcher of the operator's: ``dp.include_router(channel.router)``."""
        from bot.channels.telegram_aiogram import router_for

        return router_for(self.handle_in_order)

    def register(
        self, application: Application[Any, Any, Any, Any, Any, Any], group: int = 0
    ) -> None:
        """posbot's handlers on a python-telegram-bot Application of the operator's, after the
        handlers ``group`` already has: they get the messages and taps those leave."""
        from bot.channels.telegram_ptb import register

        register(application, self.handle_in_order, group)

    # -- lifecycle ---------------------------------------------------------------------------------

    def describe(self) -> str:
        how = f"webhook {self.webhook_url}" if self.webhook_url else "long polling"
        return f"telegram: bot {self.bot_id} on {self.library}, {how}"

    def mount(self, http: FastAPI) -> None:
        """The webhook, answered ahead of the app's middleware and routes (``FastRoute``):
        every update of every merchant is a POST to it."""
        if self.webhook_url:
            add_fast_route(http, urlsplit(self.webhook_url).path or "/", "POST", self.webhook)

    async def start(self) -> None:
        await self._register_commands()
        if self.webhook_url:
            await self.bot.set_webhook(
                self.webhook_url, self.webhook_secret or None, ALLOWED, WEBHOOK_CONNECTIONS
            )
        else:
            await self.bot.delete_webhook()
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
            return await self.sender.call(
                str(chat), lambda: self.bot.send_message(chat, text, None)
            )

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
        await self.bot.close()

    async def _register_commands(self) -> None:
        catalog = self.app.engine.catalog
        for locale in catalog.locales:
            commands = [
                {"command": name, "description": catalog.render(locale, f"command.{name}", {})}
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
                updates = await self.bot.get_updates(offset, POLL_TIMEOUT, ALLOWED)
            except PlatformError as exc:
                log.warning("getUpdates failed (%s); again shortly", exc.message)
                await asyncio.sleep(1.0)
                continue
            if updates:
                offset = await self.handle_batch(updates)

    async def handle_batch(self, updates: list[Json]) -> int:
        """Handle a batch, each chat in order, chats at once; the offset to confirm, as soon as
        every update's event is committed: past every update, or up to the first that failed
        (it and the later ones come again). What the updates lead to after their commit —
        provider calls, taps answered — goes on meanwhile, each chat still in order, so one
        slow provider call does not hold back the next getUpdates."""
        by_chat: dict[str, list[Json]] = defaultdict(list)
        for update in updates:
            by_chat[chat_of(update)].append(update)
        loop = asyncio.get_running_loop()
        committed: dict[int, asyncio.Future[bool]] = {
            u["update_id"]: loop.create_future() for u in updates
        }

        async def chat_in_order(chat: str, chat_updates: list[Json]) -> None:
            async with self._locks[chat]:
                for n, update in enumerate(chat_updates):
                    update_id = update["update_id"]
                    done = committed[update_id]
                    try:
                        await self.handle(update, committed=done)
                    except Exception:
                        if done.done():  # committed: what failed after it is retried in time
                            log.exception("update %s: after its commit", update_id)
                            continue
                        log.exception("update %s not handled; it will come again", update_id)
                        for later in chat_updates[n:]:
                            committed[later["update_id"]].set_result(False)
                        return
                    if not done.done():  # nothing to commit (a stale tap, an ignored update)
                        done.set_result(True)

        for chat, chat_updates in by_chat.items():
            task = asyncio.create_task(chat_in_order(chat, chat_updates))
            self._working.add(task)
            task.add_done_callback(self._working.discard)
        await asyncio.gather(*committed.values())
        failed = [update_id for update_id, done in committed.items() if not done.result()]
        return min(failed) if failed else max(committed) + 1

    async def webhook(self, request: Request) -> Response:
        """Telegram's POST: refused without the right secret; 200 only once committed."""
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not self.webhook_secret or not hmac.compare_digest(given, self.webhook_secret):
            return Response(status_code=401)
        try:
            update = await request.json()
        except ValueError:
            return Response(status_code=400)
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return Response(status_code=400)
        # answered once committed: what the update leads to after that (a provider call, the
        # tap answered) goes on without holding one of Telegram's webhook connections
        committed = asyncio.get_running_loop().create_future()
        work = asyncio.create_task(self.handle_in_order(update, committed=committed))
        self._working.add(work)
        work.add_done_callback(functools.partial(self._finished, committed))
        await asyncio.wait({work, committed}, return_when=asyncio.FIRST_COMPLETED)
        if not committed.done() or not committed.result():
            await work  # failed before its commit: raised, a 500, and Telegram sends it again
        return Response(status_code=200)

    def _finished(self, committed: asyncio.Future[bool], work: asyncio.Task[None]) -> None:
        self._working.discard(work)
        failed = None if work.cancelled() else work.exception()
        if failed is not None and committed.done() and committed.result():
            # before the commit, the webhook's 500 says it; after, only the log can
            log.error("update: after its commit", exc_info=failed)

    async def handle_in_order(
        self, update: Json, *, committed: asyncio.Future[bool] | None = None
    ) -> None:
        """One update, after the earlier ones of its chat (a webhook's POSTs, an operator's
        Dispatcher or Application, hand them over at once). ``committed`` is resolved True
        once its event is committed (or there was nothing to commit), False when it failed
        before."""
        try:
            async with self._locks[chat_of(update)]:
                await self.handle(update, committed=committed)
        except BaseException:
            if committed is not None and not committed.done():
                committed.set_result(False)
            raise
        if committed is not None and not committed.done():
            committed.set_result(True)  # nothing to commit: a stale tap, an ignored update

    async def handle(self, update: Json, *, committed: asyncio.Future[bool] | None = None) -> None:
        """One update: its event committed (``committed`` resolved then) and its effects run,
        then the tap answered."""
        event = event_of(update, self.bot_id)
        if event is None:
            return
        query = update["callback_query"] if event.kind == "button" else None
        if query is not None:
            # stale: a message older than the newest with buttons. (A newer one is that newest
            # itself, tapped before Telegram's answer to its sendMessage has reached us.)
            latest = self.sender.latest_keyboard(event.user_id)
            if latest is not None and query["message"].get("message_id", 0) < latest:
                locale = resolve_locale(event.locale, self.app.engine.catalog.locales, "zh_CN")
                notice = self.app.engine.catalog.render(locale, "telegram.stale_button", {})
                await self._quietly(self.bot.answer_callback_query(str(query.get("id")), notice))
                return
        if committed is None:
            committed = asyncio.get_running_loop().create_future()
        receiving = self.app.runtime.receive(event, committed=committed)
        delivery = await self._typing_while(event.user_id, receiving, committed)
        if query is not None:
            await self._quietly(self.bot.answer_callback_query(str(query.get("id"))))
            shown = query["message"].get("date") != 0  # 0: too old for the bot to see it
            if shown and not any(m.payload.get("in_place") for m in delivery.messages):
                await self._show_choice(query["message"], str(query["data"]))

    async def _typing_while(
        self, chat: str, work: Awaitable[T], committed: asyncio.Future[bool]
    ) -> T:
        """Run ``work``; when it goes on for more than a second after its event was committed
        (a provider call), the merchant sees "typing…" until it is done. Waiting for the commit
        is not shown: it is short, and under load every "typing…" would be one call more."""
        task = asyncio.ensure_future(work)
        gates: set[asyncio.Future[Any]] = {task, committed}
        await asyncio.wait(gates, return_when=asyncio.FIRST_COMPLETED)
        wait = TYPING_AFTER
        while not task.done():
            done, _ = await asyncio.wait({task}, timeout=wait)
            if not done:
                await self._quietly(self.bot.send_chat_action(int(chat), "typing"))
                wait = TYPING_EVERY
        return task.result()

    async def _show_choice(self, message: Json, data: str) -> None:
        """The tapped message loses its keyboard and shows what was chosen."""
        label = label_of(message, data)
        chat_id, message_id = int(message["chat"]["id"]), int(message["message_id"])
        shown = message.get("text")
        text = f"{shown}\n\n› {label}" if label and shown else None

        async def edit() -> Any:
            if text is not None:
                return await self.bot.edit_message_text(chat_id, message_id, text[:4096])
            return await self.bot.edit_message_reply_markup(chat_id, message_id)

        await self.sender.call(str(chat_id), edit)

    @staticmethod
    async def _quietly(call: Awaitable[object]) -> None:
        try:
            await call
        except PlatformError as exc:  # a tap already answered, a query too old
            log.info("telegram call refused: %s", exc)
