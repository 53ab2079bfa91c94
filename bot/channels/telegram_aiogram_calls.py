"""The Bot API calls posbot makes, as aiogram methods that read back only what posbot keeps.

aiogram's own methods parse every answer into full models — a sent ``Message`` with its
``Chat``, its ``User`` and their private attributes; every ``Update`` of a ``getUpdates`` —
and posbot then needs only a message id, or the update as the dict Telegram sent (the channel
speaks Telegram's JSON). These methods go through the same ``Bot``, session, API server and
error handling (a 429 is still ``TelegramRetryAfter``), and take only the parameters posbot
sends; markups go as the Bot API's JSON. Under load that is a large part of a reply's cost."""

from __future__ import annotations

from typing import Any

from aiogram.methods.base import TelegramMethod
from aiogram.types import InputFile
from pydantic import BaseModel, ConfigDict

Json = dict[str, Any]


class Sent(BaseModel):
    """What posbot keeps of a message it sent: its id (the rest of Telegram's answer is
    ignored, not parsed)."""

    model_config = ConfigDict(extra="ignore")
    message_id: int


class GetUpdates(TelegramMethod[list[Json]]):
    __returning__ = list[Json]
    __api_method__ = "getUpdates"

    offset: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


class SendMessage(TelegramMethod[Sent]):
    __returning__ = Sent
    __api_method__ = "sendMessage"

    chat_id: int
    text: str
    reply_markup: Json | None = None


class SendDocument(TelegramMethod[Sent]):
    __returning__ = Sent
    __api_method__ = "sendDocument"

    chat_id: int
    document: InputFile


class EditMessageText(TelegramMethod[Sent | bool]):
    __returning__ = Sent | bool  # the message, or True for a message sent inline
    __api_method__ = "editMessageText"

    chat_id: int
    message_id: int
    text: str
    reply_markup: Json | None = None


class EditMessageReplyMarkup(TelegramMethod[Sent | bool]):
    __returning__ = Sent | bool
    __api_method__ = "editMessageReplyMarkup"

    chat_id: int
    message_id: int
    reply_markup: Json | None = None


LEAN_METHODS = (GetUpdates, SendMessage, SendDocument, EditMessageText, EditMessageReplyMarkup)
