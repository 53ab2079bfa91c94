"""Between Telegram's JSON and posbot's: an update (the dict Telegram sends) becomes an
``InboundEvent``; a reply from the outbox becomes the messages Telegram can take (4,096
characters at most, split on line boundaries; buttons as an inline keyboard under the last part;
attachments as documents), each with its ``reply_markup`` as the Bot API takes it. No library's
types here: both runtimes share this (``telegram_port``)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from bot.channels.telegram_port import Json
from bot.engine.events import InboundEvent

CHANNEL = "telegram"
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64  # bytes, Telegram's limit
WIDE = 24  # labels longer than this get a row of their own


def event_of(update: Json, bot_id: int) -> InboundEvent | None:
    """The event an update is, or None for updates posbot does not take (edits, channel posts,
    group chats, what is not an update). The dedup key is the update_id, per bot."""
    key = f"{bot_id}:{update.get('update_id')}"
    message = _object(update.get("message"))
    chat = _object(message.get("chat"))
    if chat.get("type") == "private" and "id" in chat:
        user = _object(message.get("from"))
        locale = _text_or_none(user.get("language_code"))
        contact = _object(message.get("contact"))
        if contact:
            # the sender's own contact is a number Telegram has verified is theirs
            own = "id" in user and contact.get("user_id") == user["id"]
            phone = str(contact.get("phone_number", "")).strip()
            phone = phone if phone.startswith("+") else f"+{phone}"  # Telegram: "8613800138000"
            return InboundEvent(
                CHANNEL,
                str(chat["id"]),
                key,
                text=phone,
                payload={"contact": {"phone": phone, "own": own}},
                locale=locale,
            )
        text = message.get("text") or message.get("caption") or ""
        if not text:  # a sticker, a photo, a voice message: said as what it is
            text = f"[{content_type(message)}]"
        return InboundEvent(CHANNEL, str(chat["id"]), key, text=str(text), locale=locale)
    query = _object(update.get("callback_query"))
    message = _object(query.get("message"))
    chat = _object(message.get("chat"))
    data = query.get("data")
    if isinstance(data, str) and chat.get("type") == "private" and "id" in chat:
        return InboundEvent(
            CHANNEL,
            str(chat["id"]),
            key,
            kind="button",
            text=label_of(message, data) or "",
            payload={"value": data},
            locale=_text_or_none(_object(query.get("from")).get("language_code")),
        )
    return None


CONTENT = (
    "sticker", "photo", "voice", "video", "video_note", "animation", "audio", "document",
    "location", "venue", "poll", "dice", "game", "story", "invoice",
)  # fmt: skip


def content_type(message: Json) -> str:
    """What a message without text holds, as Telegram names it ("unknown" when none)."""
    return next((kind for kind in CONTENT if kind in message), "unknown")


def chat_of(update: Json) -> str:
    """The chat an update is in ("-" for none): updates of one chat are handled in order."""
    message = _object(update.get("message")) or _object(
        _object(update.get("callback_query")).get("message")
    )
    return str(_object(message.get("chat")).get("id", "-"))


def label_of(message: Json, data: str) -> str | None:
    """The label of the button with ``data`` on ``message``, if it is there."""
    rows = _object(message.get("reply_markup")).get("inline_keyboard")
    for row in rows if isinstance(rows, list) else []:
        for button in row if isinstance(row, list) else []:
            if isinstance(button, dict) and button.get("callback_data") == data:
                return str(button.get("text", ""))
    return None


def _object(value: Any) -> Json:
    return value if isinstance(value, dict) else {}


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


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


def keyboard(buttons: list[list[str]]) -> Json | None:
    """The reply's buttons as an inline keyboard: short labels two to a row."""
    usable = [(label, v) for label, v in buttons if len(v.encode()) <= MAX_CALLBACK_DATA]
    if not usable:
        return None
    rows: list[list[Json]] = []
    for label, value in usable:
        button = {"text": label, "callback_data": value}
        last = rows[-1] if rows else None
        if last and len(last) == 1 and len(last[0]["text"]) <= WIDE and len(label) <= WIDE:
            last.append(button)
        else:
            rows.append([button])
    return {"inline_keyboard": rows}


def share_phone(label: str) -> Json:
    """A reply keyboard with one button that sends the merchant's own number (as a contact)."""
    button = {"text": label, "request_contact": True}
    return {"keyboard": [[button]], "resize_keyboard": True, "one_time_keyboard": True}


REMOVE_KEYBOARD: Json = {"remove_keyboard": True}


@dataclass(frozen=True, slots=True)
class Part:
    """One Telegram call a reply becomes; ``markup`` as the Bot API's ``reply_markup``."""

    text: str | None = None
    markup: Json | None = None
    document: tuple[str, bytes] | None = None  # file name, contents

    @property
    def has_buttons(self) -> bool:
        return self.markup is not None and "inline_keyboard" in self.markup

    @property
    def has_reply_keyboard(self) -> bool:
        return self.markup is not None and "keyboard" in self.markup


def parts_of(payload: dict[str, Any]) -> list[Part]:
    texts = split_text(str(payload.get("text", "")))
    markup: Json | None = keyboard(payload.get("buttons") or [])
    if markup is None and payload.get("share_phone"):
        markup = share_phone(str(payload["share_phone"]))
    parts = [Part(text=t) for t in texts[:-1]] + [Part(text=texts[-1], markup=markup)]
    for attachment in payload.get("attachments") or []:
        data = base64.b64decode(attachment["data"])
        parts.append(Part(document=(str(attachment["name"]), data)))
    return [p for p in parts if p.document is not None or (p.text or "").strip()]
