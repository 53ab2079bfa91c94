"""Builders for the JSON objects of the Telegram Bot API (users, chats, messages, updates).

Pure functions returning plain dicts shaped exactly like the Bot API's, so any client library
(aiogram, python-telegram-bot) parses them. The server in ``bot_api.py`` owns ids and time.
"""

from __future__ import annotations

import re
from typing import Any

_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?")


def user(user_id: int, *, first_name: str, language_code: str | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code:
        obj["language_code"] = language_code
    return obj


def bot_user(bot_id: int, *, first_name: str, username: str) -> dict[str, Any]:
    return {"id": bot_id, "is_bot": True, "first_name": first_name, "username": username}


def private_chat(chat_id: int, *, first_name: str) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": first_name}


def command_entities(text: str) -> list[dict[str, Any]]:
    """The ``bot_command`` entity Telegram adds to ``/start``-like text (PTB's
    CommandHandler needs it)."""
    match = _COMMAND.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": match.end()}]


def message(
    message_id: int, *, date: int, chat: dict[str, Any], sender: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """A Message object; ``fields`` (text, contact, reply_markup, document...) are copied
    as given, ``None`` values left out."""
    obj: dict[str, Any] = {"message_id": message_id, "date": date, "chat": chat, "from": sender}
    obj.update({key: value for key, value in fields.items() if value is not None})
    return obj


def text_message(
    message_id: int, *, date: int, sender: dict[str, Any], text: str
) -> dict[str, Any]:
    chat = private_chat(sender["id"], first_name=sender["first_name"])
    entities = command_entities(text) or None
    return message(message_id, date=date, chat=chat, sender=sender, text=text, entities=entities)


def contact_message(
    message_id: int,
    *,
    date: int,
    sender: dict[str, Any],
    phone_number: str,
    contact_user_id: int | None,
) -> dict[str, Any]:
    chat = private_chat(sender["id"], first_name=sender["first_name"])
    contact: dict[str, Any] = {"phone_number": phone_number, "first_name": sender["first_name"]}
    if contact_user_id is not None:
        contact["user_id"] = contact_user_id
    return message(message_id, date=date, chat=chat, sender=sender, contact=contact)


def callback_query(
    query_id: str, *, sender: dict[str, Any], message: dict[str, Any], data: str
) -> dict[str, Any]:
    return {
        "id": query_id,
        "from": sender,
        "message": message,
        "chat_instance": f"ci-{message['chat']['id']}",
        "data": data,
    }


def chat_key(update: dict[str, Any]) -> int | None:
    """The chat an update belongs to (webhook delivery keeps each chat's updates in order)."""
    for kind in ("message", "edited_message", "callback_query", "my_chat_member"):
        obj = update.get(kind)
        if obj is None:
            continue
        if kind == "callback_query":
            inner = obj.get("message")
            return int(inner["chat"]["id"]) if inner else int(obj["from"]["id"])
        return int(obj["chat"]["id"])
    return None


def kind(update: dict[str, Any]) -> str:
    """The update's type, as named in ``allowed_updates``."""
    return next(key for key in update if key != "update_id")
