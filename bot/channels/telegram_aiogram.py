"""The Bot API port on aiogram 3 (``POSBOT_TELEGRAM_RUNTIME=aiogram``, the default), and the
Router an operator with an aiogram bot of their own includes in their Dispatcher.

All of aiogram that posbot touches is here: each call of the port is one call of the ``Bot``,
with aiogram's own methods or the lean ones of ``telegram_aiogram_calls`` (markups go as the
Bot API's JSON, updates come out as the dicts Telegram sent, a sent message as its id), and
aiogram's exceptions become ``bot.errors``'."""

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
from aiogram.types import BotCommand, BufferedInputFile, Update

from bot.channels import telegram_aiogram_calls as calls
from bot.channels.telegram_port import (
    PLATFORM,
    BadRequest,
    Forbidden,
    Json,
    PlatformRefused,
    PlatformUnavailable,
    RetryAfter,
)


class AiogramBotAPI:
    """posbot's ``BotAPI`` through an aiogram ``Bot``."""

    def __init__(self, token: str, root: str | None) -> None:
        keep_response_models()
        session = AiohttpSession(api=TelegramAPIServer.from_base(root)) if root else None
        self.bot = Bot(token, session=session)

    async def get_updates(
        self, offset: int | None, timeout: int, allowed_updates: list[str]
    ) -> list[Json]:
        call = calls.GetUpdates(offset=offset, timeout=timeout, allowed_updates=allowed_updates)
        with converted():
            return await self.bot(call)

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
        call = calls.SendMessage(chat_id=chat_id, text=text, reply_markup=reply_markup)
        with converted():
            return (await self.bot(call)).message_id

    async def send_document(self, chat_id: int, name: str, data: bytes) -> int:
        call = calls.SendDocument(chat_id=chat_id, document=BufferedInputFile(data, name))
        with converted():
            return (await self.bot(call)).message_id

    async def edit_message_text(
        self, chat_id: int, message_id: int, text: str, reply_markup: Json | None = None
    ) -> None:
        call = calls.EditMessageText(
            chat_id=chat_id, message_id=message_id, text=text, reply_markup=reply_markup
        )
        with converted():
            await self.bot(call)

    async def edit_message_reply_markup(
        self, chat_id: int, message_id: int, reply_markup: Json | None = None
    ) -> None:
        call = calls.EditMessageReplyMarkup(
            chat_id=chat_id, message_id=message_id, reply_markup=reply_markup
        )
        with converted():
            await self.bot(call)

    async def answer_callback_query(self, query_id: str, text: str | None = None) -> None:
        with converted():
            await self.bot.answer_callback_query(query_id, text=text)

    async def send_chat_action(self, chat_id: int, action: str) -> None:
        with converted():
            await self.bot.send_chat_action(chat_id, action)

    async def close(self) -> None:
        await self.bot.session.close()


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
    _KEPT.extend(Response[m.__returning__] for m in calls.LEAN_METHODS)  # type: ignore[name-defined]


_KEPT: list[object] = []
