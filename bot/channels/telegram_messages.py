"""Between Telegram's objects and posbot's: an update becomes an ``InboundEvent``; a reply from
the outbox becomes the messages Telegram can take (4,096 characters at most, split on line
boundaries; buttons as an inline keyboard under the last part; attachments as documents).
aiogram's types stay in the Telegram modules."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from bot.engine.events import InboundEvent

CHANNEL = "telegram"


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
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64  # bytes, Telegram's limit
WIDE = 24  # labels longer than this get a row of their own


def event_of(update: Update, bot_id: int) -> InboundEvent | None:
    """The event an update is, or None for updates posbot does not take (edits, channel posts,
    group chats). The dedup key is the update_id, per bot."""
    key = f"{bot_id}:{update.update_id}"
    if update.message is not None and update.message.chat.type == "private":
        message = update.message
        user = message.from_user
        locale = user.language_code if user else None
        if message.contact is not None:
            # the sender's own contact is a number Telegram has verified is theirs
            contact = message.contact
            own = user is not None and contact.user_id == user.id
            phone = contact.phone_number.strip()
            phone = phone if phone.startswith("+") else f"+{phone}"  # Telegram: "8613800138000"
            return InboundEvent(
                CHANNEL,
                str(message.chat.id),
                key,
                text=phone,
                payload={"contact": {"phone": phone, "own": own}},
                locale=locale,
            )
        text = message.text or message.caption or ""
        if not text:  # a sticker, a photo, a voice message: said as what it is
            text = f"[{message.content_type}]"
        return InboundEvent(CHANNEL, str(message.chat.id), key, text=text, locale=locale)
    query = update.callback_query
    if query is not None and query.message is not None and query.data is not None:
        chat = query.message.chat
        if chat.type != "private":
            return None
        locale = query.from_user.language_code if query.from_user else None
        return InboundEvent(
            CHANNEL,
            str(chat.id),
            key,
            kind="button",
            text=label_of(query.message, query.data) or "",
            payload={"value": query.data},
            locale=locale,
        )
    return None


def label_of(message: Any, data: str) -> str | None:
    """The label of the button with ``data`` on ``message``, if it is there."""
    markup = getattr(message, "reply_markup", None)
    for row in getattr(markup, "inline_keyboard", None) or []:
        for button in row:
            if button.callback_data == data:
                return str(button.text)
    return None


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """``text`` in parts of at most ``limit`` characters, cut at line ends where possible."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one line longer than a message: cut it hard
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current or not parts:
        parts.append(current)
    return parts


def keyboard(buttons: list[list[str]]) -> InlineKeyboardMarkup | None:
    """The reply's buttons as an inline keyboard: short labels two to a row."""
    usable = [(label, v) for label, v in buttons if len(v.encode()) <= MAX_CALLBACK_DATA]
    if not usable:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    for label, value in usable:
        button = InlineKeyboardButton(text=label, callback_data=value)
        last = rows[-1] if rows else None
        if last and len(last) == 1 and len(last[0].text) <= WIDE and len(label) <= WIDE:
            last.append(button)
        else:
            rows.append([button])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def share_phone(label: str) -> ReplyKeyboardMarkup:
    """A reply keyboard with one button that sends the merchant's own number (as a contact)."""
    button = KeyboardButton(text=label, request_contact=True)
    return ReplyKeyboardMarkup(keyboard=[[button]], resize_keyboard=True, one_time_keyboard=True)


Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


@dataclass(frozen=True, slots=True)
class Part:
    """One Telegram call a reply becomes."""

    text: str | None = None
    markup: Markup | None = None
    document: tuple[str, bytes] | None = None  # file name, contents

    @property
    def has_buttons(self) -> bool:
        return isinstance(self.markup, InlineKeyboardMarkup)


def parts_of(payload: dict[str, Any]) -> list[Part]:
    texts = split_text(str(payload.get("text", "")))
    markup: Markup | None = keyboard(payload.get("buttons") or [])
    if markup is None and payload.get("share_phone"):
        markup = share_phone(str(payload["share_phone"]))
    parts = [Part(text=t) for t in texts[:-1]] + [Part(text=texts[-1], markup=markup)]
    for attachment in payload.get("attachments") or []:
        data = base64.b64decode(attachment["data"])
        parts.append(Part(document=(str(attachment["name"]), data)))
    return [p for p in parts if p.document is not None or (p.text or "").strip()]
