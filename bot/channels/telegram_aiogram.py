"""The Bot API port on aiogram 3 (``POSBOT_TELEGRAM_RUNTIME=aiogram``, the default), and the
Router an operator with an aiogram bot of their own includes in their Dispatcher.

All of aiogram that posbot touches is here: each call of the port is one ``Bot`` method;
markups go in as aiogram's models, updates come out as the dicts Telegram sent, and aiogram's
exceptions become ``bot.errors``'."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiogram import Bot, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    AiogramError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

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


class AiogramBotAPI:
    """posbot's ``BotAPI`` through an aiogram ``Bot``."""

    def __init__(self, token: str, root: str | None) -> None:
        keep_response_models()
        session = AiohttpSession(api=TelegramAPIServer.from_base(root)) if root else None
        self.bot = Bot(token, session=session)

    async def get_updates(
        self, offset: int | None, timeout: int, allowed_updates: list[str]
    ) -> list[Json]:
        with converted():
            updates = await self.bot.get_updates(
                offset=offset, timeout=timeout, allowed_updates=allowed_updates
            )
        return [dict_of(update) for update in updates]

    async def set_webhook(
        self, url: str, secret_token: str | None, allowed_updates: list[str], max_connections: int
    ) -> None:
        with converted():
            await self.bot.set_webhook(
                url,
                secret_token=secret_token,
                allowed_updates=allowed_updates,
                max_connections=max_connections,
            )

    async def delete_webhook(self) -> None:
        with converted():
            await self.bot.delete_webhook(drop_pending_updates=False)

    async def set_my_commands(self, commands: list[Json], language_code: str | None = None) -> None:
        listed = [BotCommand.model_validate(command) for command in commands]
        with converted():
            await self.bot.set_my_commands(listed, language_code=language_code)

    async def send_message(self, chat_id: int, text: str, reply_markup: Json | None) -> int:
        with converted():
            sent = await self.bot.send_message(chat_id, text, reply_markup=markup(reply_markup))
        return sent.message_id

    async def send_document(self, chat_id: int, name: str, data: bytes) -> int:
        with converted():
            sent = await self.bot.send_document(chat_id, BufferedInputFile(data, name))
        return sent.message_id

    async def edit_message_text(
        self, chat_id: int, message_id: int, text: str, reply_markup: Json | None = None
    ) -> None:
        inline = markup(reply_markup)
        assert inline is None or isinstance(inline, InlineKeyboardMarkup)
        with converted():
            await self.bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id, reply_markup=inline
            )

    async def edit_message_reply_markup(
        self, chat_id: int, message_id: int, reply_markup: Json | None = None
    ) -> None:
        inline = markup(reply_markup)
        assert inline is None or isinstance(inline, InlineKeyboardMarkup)
        with converted():
            await self.bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=message_id, reply_markup=inline
            )

    async def answer_callback_query(self, query_id: str, text: str | None = None) -> None:
        with converted():
            await self.bot.answer_callback_query(query_id, text=text)

    async def send_chat_action(self, chat_id: int, action: str) -> None:
        with converted():
            await self.bot.send_chat_action(chat_id, action)

    async def close(self) -> None:
        await self.bot.session.close()


def markup(shape: Json | None) -> Markup | None:
    """A Bot API ``reply_markup`` as aiogram's model of it."""
    if shape is None:
        return None
    if "inline_keyboard" in shape:
        return InlineKeyboardMarkup.model_validate(shape)
    if "keyboard" in shape:
        return ReplyKeyboardMarkup.model_validate(shape)
    return ReplyKeyboardRemove.model_validate(shape)


def dict_of(update: Update) -> Json:
    """An update as Telegram sent it (``from``, dates as Unix time, no empty fields)."""
    return update.model_dump(mode="json", exclude_none=True, by_alias=True)


@contextmanager
def converted() -> Iterator[None]:
    """aiogram's exceptions, as posbot's."""
    try:
        yield
    except TelegramRetryAfter as exc:
        raise RetryAfter(PLATFORM, float(exc.retry_after)) from exc
    except TelegramForbiddenError as exc:
        raise Forbidden(PLATFORM, exc.message, code=403) from exc
    except TelegramBadRequest as exc:
        raise BadRequest(PLATFORM, exc.message, code=400) from exc
    except (TelegramNetworkError, TelegramServerError) as exc:
        raise PlatformUnavailable(PLATFORM, f"{type(exc).__name__}: {exc.message}") from exc
    except TelegramAPIError as exc:  # 401, 404, 409, 413, a chat migrated
        raise PlatformRefused(PLATFORM, f"{type(exc).__name__}: {exc.message}") from exc
    except AiogramError as exc:  # an answer that is not the Bot API's JSON (a proxy's page)
        raise PlatformUnavailable(PLATFORM, type(exc).__name__) from exc


def router_for(handle: Callable[[Json], Awaitable[None]]) -> Router:
    """A Router whose handlers pass each private message and button tap, as the dict Telegram
    sent, to ``handle`` (the channel's)."""
    router = Router(name="posbot")

    @router.message()
    async def on_message(message: Any, event_update: Update) -> None:
        await handle(dict_of(event_update))

    @router.callback_query()
    async def on_tap(query: Any, event_update: Update) -> None:
        await handle(dict_of(event_update))

    return router


def keep_response_models() -> None:
    """aiogram reads every answer as ``Response[the method's return type]``, a pydantic generic
    that pydantic caches only weakly: once collected, the next call builds it again (~15 ms of
    schema building). Holding the ones posbot uses keeps them built."""
    if _KEPT:
        return
    from aiogram.client.session.base import BaseSession  # noqa: F401  (aiogram's own import order)
    from aiogram.methods import (
        AnswerCallbackQuery,
        DeleteWebhook,
        EditMessageReplyMarkup,
        EditMessageText,
        GetMe,
        GetUpdates,
        SendChatAction,
        SendDocument,
        SendMessage,
        SetMyCommands,
        SetWebhook,
    )
    from aiogram.methods.base import Response

    methods = (
        AnswerCallbackQuery, DeleteWebhook, EditMessageReplyMarkup, EditMessageText, GetMe,
        GetUpdates, SendChatAction, SendDocument, SendMessage, SetMyCommands, SetWebhook,
    )  # fmt: skip
    _KEPT.extend(Response[m.__returning__] for m in methods)  # type: ignore[name-defined]


_KEPT: list[object] = []
