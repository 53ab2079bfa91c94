"""The Bot API port on python-telegram-bot 22 (``POSBOT_TELEGRAM_RUNTIME=ptb``), and the
handlers an operator with a python-telegram-bot ``Application`` of their own registers on it.

All of python-telegram-bot that posbot touches is here: each call of the port is one ``Bot``
method; markups go in as PTB's objects, updates come out as the dicts Telegram sent, and PTB's
exceptions become ``bot.errors``'. ``POSBOT_TELEGRAM_API_BASE`` keeps its one meaning (the
server's root): PTB wants it as ``{root}/bot`` and ``{root}/file/bot``. No ``AIORateLimiter``:
posbot's own ``Pacer`` and retries are the only limiter."""

from __future__ import annotations

import asyncio
import datetime as dt
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram import error as ptb
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.channels.telegram_port import (
    PLATFORM,
    BadRequest,
    Forbidden,
    Json,
    PlatformRefused,
    PlatformUnavailable,
    RetryAfter,
)

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove
API_ROOT = "https://api.telegram.org"
# as aiogram's session: a call may take a minute (a 5-second read timeout would send again a
# message Telegram is still answering), and one waits for a free connection, however long, in
# place of failing after PTB's one second (the Pacer, not the pool, decides the rate). Sixteen
# connections: httpcore looks at every connection of its pool at every request (a poll of each
# socket), so a pool of a hundred costs more than it gives; sixteen calls in flight are many
# times the 30 messages a second Telegram allows a bot
TIMEOUT, CONNECTIONS = 60.0, 16


class PTBBotAPI:
    """posbot's ``BotAPI`` through a python-telegram-bot ``Bot``."""

    def __init__(self, token: str, root: str | None) -> None:
        root = (root or API_ROOT).rstrip("/")
        self._requests = (requests(1), requests(CONNECTIONS))  # getUpdates's own, the rest's
        self.bot = Bot(
            token,
            base_url=f"{root}/bot",
            base_file_url=f"{root}/file/bot",
            get_updates_request=self._requests[0],
            request=self._requests[1],
        )
        # no more calls in flight than connections: httpcore matches every waiting request
        # against every connection at each step, so a queue of hundreds inside it is quadratic
        self._slots = asyncio.Semaphore(CONNECTIONS)

    @asynccontextmanager
    async def _calling(self) -> AsyncIterator[None]:
        async with self._slots:
            with converted():
                yield

    async def get_updates(
        self, offset: int | None, timeout: int, allowed_updates: list[str]
    ) -> list[Json]:
        with converted():
            updates = await self.bot.get_updates(
                offset=offset, timeout=timeout, allowed_updates=allowed_updates
            )
        return [update.to_dict() for update in updates]

    async def set_webhook(
        self, url: str, secret_token: str | None, allowed_updates: list[str], max_connections: int
    ) -> None:
        async with self._calling():
            await self.bot.set_webhook(
                url,
                secret_token=secret_token,
                allowed_updates=allowed_updates,
                max_connections=max_connections,
            )

    async def delete_webhook(self) -> None:
        async with self._calling():
            await self.bot.delete_webhook(drop_pending_updates=False)

    async def set_my_commands(self, commands: list[Json], language_code: str | None = None) -> None:
        listed = [BotCommand(c["command"], c["description"]) for c in commands]
        async with self._calling():
            await self.bot.set_my_commands(listed, language_code=language_code)

    async def send_message(self, chat_id: int, text: str, reply_markup: Json | None) -> int:
        async with self._calling():
            sent = await self.bot.send_message(chat_id, text, reply_markup=markup(reply_markup))
        return sent.message_id

    async def send_document(self, chat_id: int, name: str, data: bytes) -> int:
        async with self._calling():
            sent = await self.bot.send_document(chat_id, data, filename=name)
        return sent.message_id

    async def edit_message_text(
        self, chat_id: int, message_id: int, text: str, reply_markup: Json | None = None
    ) -> None:
        inline = markup(reply_markup)
        assert inline is None or isinstance(inline, InlineKeyboardMarkup)
        async with self._calling():
            await self.bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, reply_markup=inline
            )

    async def edit_message_reply_markup(
        self, chat_id: int, message_id: int, reply_markup: Json | None = None
    ) -> None:
        inline = markup(reply_markup)
        assert inline is None or isinstance(inline, InlineKeyboardMarkup)
        async with self._calling():
            await self.bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=message_id, reply_markup=inline
            )

    async def answer_callback_query(self, query_id: str, text: str | None = None) -> None:
        async with self._calling():
            await self.bot.answer_callback_query(query_id, text=text)

    async def send_chat_action(self, chat_id: int, action: str) -> None:
        async with self._calling():
            await self.bot.send_chat_action(chat_id, action)

    async def close(self) -> None:
        for request in self._requests:
            await request.shutdown()


def requests(connections: int) -> HTTPXRequest:
    return HTTPXRequest(
        connection_pool_size=connections,
        read_timeout=TIMEOUT,
        write_timeout=TIMEOUT,
        connect_timeout=TIMEOUT,
        pool_timeout=None,
    )


def markup(shape: Json | None) -> Markup | None:
    """A Bot API ``reply_markup`` as PTB's object for it."""
    if shape is None:
        return None
    if "inline_keyboard" in shape:
        return InlineKeyboardMarkup.de_json(shape, None)
    if "keyboard" in shape:
        return ReplyKeyboardMarkup.de_json(shape, None)
    return ReplyKeyboardRemove()


@contextmanager
def converted() -> Iterator[None]:
    """python-telegram-bot's exceptions, as posbot's (``BadRequest`` and ``TimedOut`` are
    ``NetworkError``s there: the order matters)."""
    try:
        yield
    except ptb.RetryAfter as exc:
        raise RetryAfter(PLATFORM, seconds_of(exc)) from exc
    except ptb.Forbidden as exc:
        raise Forbidden(PLATFORM, exc.message, code=403) from exc
    except ptb.BadRequest as exc:
        raise BadRequest(PLATFORM, exc.message, code=400) from exc
    except ptb.NetworkError as exc:  # the network, timeouts, 5xx
        raise PlatformUnavailable(PLATFORM, f"{type(exc).__name__}: {exc.message}") from exc
    except ptb.TelegramError as exc:  # 401, 404, 409, a chat migrated
        raise PlatformRefused(PLATFORM, f"{type(exc).__name__}: {exc.message}") from exc


def seconds_of(exc: ptb.RetryAfter) -> float:
    """``retry_after`` in seconds, whichever type PTB gives it as (an int, or a timedelta once
    ``PTB_TIMEDELTA`` is set: reading it otherwise warns of that change)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def register(
    application: Application[Any, Any, Any, Any, Any, Any],
    handle: Callable[[Json], Awaitable[None]],
    group: int = 0,
) -> None:
    """Handlers on ``application`` that pass each message and button tap, as the dict Telegram
    sent, to ``handle`` (the channel's). Registered after the operator's own handlers of
    ``group``, they get what those leave."""

    async def on_update(update: Update, _context: object) -> None:
        await handle(update.to_dict())

    application.add_handler(MessageHandler(filters.ALL, on_update), group)
    application.add_handler(CallbackQueryHandler(on_update), group)
