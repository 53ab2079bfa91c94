"""The Bot API as posbot's Telegram channel uses it: one port, two adapters.

The channel and its sender speak plain Bot API JSON — an update is the dict Telegram sends, a
``reply_markup`` is the dict the Bot API takes, a sent message is its ``message_id`` — and see
the library's failures as the errors of ``bot.errors``:

    RetryAfter(retry_after)   429: nothing to that chat for that long, then again
    Forbidden                 403: the user blocked the bot
    BadRequest(message)       400: the call is wrong or moot; sending it again changes nothing
    PlatformUnavailable       network, timeouts, 5xx: again, with backoff
    PlatformRefused           anything else the server refused (401, 404, 409 ...)

An adapter (``telegram_aiogram``, ``telegram_ptb``) turns those calls into its library's, and
its library's objects and exceptions back into these shapes; everything else — confirming
updates only once committed, dedup, per-chat order, pacing, retries — is shared."""

from __future__ import annotations

from typing import Any, Protocol

from bot.errors import BadRequest, Forbidden, PlatformRefused, PlatformUnavailable, RetryAfter

__all__ = [
    "RUNTIMES",
    "BadRequest",
    "BotAPI",
    "Forbidden",
    "Json",
    "PlatformRefused",
    "PlatformUnavailable",
    "RetryAfter",
    "connect",
]

PLATFORM = "telegram"
RUNTIMES = ("aiogram", "ptb")  # POSBOT_TELEGRAM_RUNTIME's choices; the first is the default
Json = dict[str, Any]


class BotAPI(Protocol):
    """The Bot API calls posbot makes, in Bot API shapes (``chat_id`` as an int)."""

    async def get_updates(
        self, offset: int | None, timeout: int, allowed_updates: list[str]
    ) -> list[Json]:
        """The next updates, as Telegram sent them (long polling for ``timeout`` seconds)."""

    async def set_webhook(
        self, url: str, secret_token: str | None, allowed_updates: list[str], max_connections: int
    ) -> None: ...

    async def delete_webhook(self) -> None:
        """Back to getUpdates, keeping the pending updates."""

    async def set_my_commands(self, commands: list[Json], language_code: str | None = None) -> None:
        """``commands``: ``{"command": ..., "description": ...}`` each."""

    async def send_message(self, chat_id: int, text: str, reply_markup: Json | None) -> int:
        """The sent message's ``message_id``."""

    async def send_document(self, chat_id: int, name: str, data: bytes) -> int:
        """The sent message's ``message_id``."""

    async def edit_message_text(
        self, chat_id: int, message_id: int, text: str, reply_markup: Json | None = None
    ) -> None: ...

    async def edit_message_reply_markup(
        self, chat_id: int, message_id: int, reply_markup: Json | None = None
    ) -> None: ...

    async def answer_callback_query(self, query_id: str, text: str | None = None) -> None: ...

    async def send_chat_action(self, chat_id: int, action: str) -> None: ...

    async def close(self) -> None:
        """Let go of the HTTP connections."""


def connect(runtime: str, token: str, root: str | None) -> BotAPI:
    """The Bot API through ``runtime``'s library (``RUNTIMES``); ``root`` is another Bot API
    server's root (``POSBOT_TELEGRAM_API_BASE``, e.g. ``http://127.0.0.1:8081``), None for
    api.telegram.org. The library is imported only when it is chosen."""
    if runtime == "aiogram":
        from bot.channels.telegram_aiogram import AiogramBotAPI

        return AiogramBotAPI(token, root)
    if runtime == "ptb":
        from bot.channels.telegram_ptb import PTBBotAPI

        return PTBBotAPI(token, root)
    raise ValueError(f"unknown Telegram runtime {runtime!r}: one of {', '.join(RUNTIMES)}")
