"""The Bot API methods the fake server answers: how parameters are read, one handler each.

A handler takes the server and the call's parameters and returns the ``result``; a refusal
is an ``ApiError`` (or ``checks.BadRequest``) carrying Telegram's status and description.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import MultipartReader, web

from tests.telegram import checks

if TYPE_CHECKING:
    from tests.telegram.bot_api import BotAPIServer

_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
CHAT_ACTIONS = frozenset(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly"
    " the same as a current content and reply markup of the message"
)
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"


class ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            self.body["parameters"] = {"retry_after": retry_after}
        self.status = status


def bad(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass(frozen=True)
class Upload:
    file_name: str
    data: bytes
    mime_type: str


class Params:
    """Parameters as Telegram reads them: form values are strings, objects are JSON."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def text(self, name: str) -> str | None:
        value = self.raw.get(name)
        return None if value is None else str(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        return self.raw.get(name) in (True, 1, "true", "True", "1")

    def obj(self, name: str) -> Any:
        value = self.raw.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad(f"can't parse {name} JSON object") from None

    def chat_id(self) -> int:
        value = self.raw.get("chat_id")
        if value is None or value == "":
            raise bad("chat_id is empty")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad("chat not found") from None


async def read_params(request: web.Request) -> dict[str, Any]:
    """Query string plus a JSON, urlencoded or multipart body (files become ``Upload``)."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        params.update(await request.json() if request.can_read_body else {})
    elif request.content_type == "multipart/form-data":
        async for part in await request.multipart():
            if isinstance(part, MultipartReader) or not part.name:
                continue
            data = await part.read()
            if part.filename is None:
                params[part.name] = data.decode()
            else:
                mime = part.headers.get("Content-Type", "application/octet-stream")
                params[part.name] = Upload(part.filename, bytes(data), mime)
    elif request.can_read_body:
        params.update(await request.post())
    return params


async def method_in_reply(resp: Any) -> dict[str, Any] | None:
    """A webhook may answer with one API call in its body (JSON or form), as Telegram allows."""
    body: Any = None
    if resp.content_type == "application/json":
        body = await resp.json()
    elif resp.content_type == "multipart/form-data":
        body = {}
        async for part in MultipartReader.from_response(resp):
            body[part.name] = (await part.read()).decode()
    return body if isinstance(body, dict) and body.get("method") else None


# ---- the methods -------------------------------------------------------------------------------

Handler = Callable[["BotAPIServer", Params], Awaitable[Any]]
HANDLERS: dict[str, Handler] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[name.lower()] = handler
        return handler

    return register


@method("getMe")
async def get_me(server: BotAPIServer, p: Params) -> Any:
    return {**server.me, "can_join_groups": True, "can_read_all_group_messages": False}


@method("getUpdates")
async def get_updates(server: BotAPIServer, p: Params) -> Any:
    return await server.poll(
        offset=p.integer("offset"),
        limit=min(max(p.integer("limit", 100) or 100, 1), 100),
        timeout=max(p.integer("timeout", 0) or 0, 0),
        allowed_updates=p.obj("allowed_updates"),
    )


@method("setWebhook")
async def set_webhook(server: BotAPIServer, p: Params) -> Any:
    url = p.text("url") or ""
    if not url:
        return await delete_webhook(server, p)
    if not url.startswith(("http://", "https://")):
        raise bad("bad webhook: An HTTPS URL must be provided for webhook")
    secret = p.text("secret_token")
    if secret is not None and not _SECRET.match(secret):
        raise bad("secret token contains unallowed characters")
    await server.stop_webhook_delivery()
    if p.flag("drop_pending_updates"):
        server.drop_pending()
    server.webhook = {
        "url": url,
        "secret_token": secret,
        "max_connections": min(max(p.integer("max_connections", 40) or 40, 1), 100),
        "allowed_updates": p.obj("allowed_updates") or [],
        "last_error_date": None,
        "last_error_message": None,
    }
    server.start_webhook_delivery()
    return True


@method("deleteWebhook")
async def delete_webhook(server: BotAPIServer, p: Params) -> Any:
    await server.stop_webhook_delivery()
    server.webhook = None
    if p.flag("drop_pending_updates"):
        server.drop_pending()
    return True


@method("getWebhookInfo")
async def get_webhook_info(server: BotAPIServer, p: Params) -> Any:
    hook = server.webhook or {}
    info = {
        "url": hook.get("url", ""),
        "has_custom_certificate": False,
        "pending_update_count": server.pending_update_count(),
        "max_connections": hook.get("max_connections"),
        "allowed_updates": hook.get("allowed_updates") or None,
        "last_error_date": hook.get("last_error_date"),
        "last_error_message": hook.get("last_error_message"),
    }
    return {key: value for key, value in info.items() if value is not None}


@method("sendMessage")
async def send_message(server: BotAPIServer, p: Params) -> Any:
    chat_id = p.chat_id()
    text = checks.checked_text(p.text("text"), p.text("parse_mode"))
    markup = checks.checked_markup(p.obj("reply_markup"))
    return server.record_sent(chat_id, p, text=text, markup=markup)


@method("sendDocument")
async def send_document(server: BotAPIServer, p: Params) -> Any:
    chat_id = p.chat_id()
    value = p.raw.get("document")
    if isinstance(value, str) and value.startswith("attach://"):
        value = p.raw.get(value.removeprefix("attach://"))
    if isinstance(value, str):
        value = server.files.get(value)
    if not isinstance(value, Upload):
        raise bad("wrong file identifier/HTTP URL specified")
    if not value.data:
        raise bad("file must be non-empty")
    caption = checks.checked_text(p.text("caption"), p.text("parse_mode"), limit=checks.MAX_CAPTION)
    markup = checks.checked_markup(p.obj("reply_markup"))
    return server.record_sent(chat_id, p, caption=caption or None, markup=markup, upload=value)


@method("editMessageText")
async def edit_message_text(server: BotAPIServer, p: Params) -> Any:
    chat_id, record = _editable(server, p)
    if record["documents"]:
        raise bad("there is no text in the message to edit")
    text = checks.checked_text(p.text("text"), p.text("parse_mode"))
    markup = checks.checked_markup(p.obj("reply_markup"), inline_only=True)
    if text == record["text"] and markup == _inline(record):
        raise bad(_NOT_MODIFIED)
    record.update(text=text, raw_text=p.text("text"), parse_mode=p.text("parse_mode"))
    return server.record_edit(chat_id, record, markup)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(server: BotAPIServer, p: Params) -> Any:
    chat_id, record = _editable(server, p)
    markup = checks.checked_markup(p.obj("reply_markup"), inline_only=True)
    if markup == _inline(record):
        raise bad(_NOT_MODIFIED)
    return server.record_edit(chat_id, record, markup)


def _editable(server: BotAPIServer, p: Params) -> tuple[int, dict[str, Any]]:
    if p.text("inline_message_id"):
        raise bad("MESSAGE_ID_INVALID")  # the fake has no inline mode
    chat_id = p.chat_id()
    message_id = p.integer("message_id")
    if message_id is None:
        raise bad("message identifier is not specified")
    record = server.messages.get(chat_id, {}).get(message_id)
    if record is None:
        raise bad("message to edit not found")
    return chat_id, record


def _inline(record: dict[str, Any]) -> dict[str, Any] | None:
    markup = record["reply_markup"]
    return markup if markup and "inline_keyboard" in markup else None


@method("answerCallbackQuery")
async def answer_callback_query(server: BotAPIServer, p: Params) -> Any:
    query_id = p.text("callback_query_id") or ""
    if server.queries.get(query_id) is not False:
        raise bad(_QUERY_INVALID)
    text = p.text("text")
    if text is not None and len(text) > 200:
        raise bad("MESSAGE_TOO_LONG")
    server.queries[query_id] = True
    server.callback_answers.append(
        {
            "callback_query_id": query_id,
            "text": text,
            "show_alert": p.flag("show_alert"),
            "url": p.text("url"),
            "cache_time": p.integer("cache_time", 0),
        }
    )
    return True


@method("sendChatAction")
async def send_chat_action(server: BotAPIServer, p: Params) -> Any:
    chat_id, action = p.chat_id(), p.text("action") or ""
    if action not in CHAT_ACTIONS:
        raise bad("wrong parameter action in request")
    server.chat_actions.append((chat_id, action, server.clock()))
    return True


def _commands_key(p: Params) -> tuple[str, str]:
    scope = p.obj("scope") or {"type": "default"}
    if not isinstance(scope, dict) or "type" not in scope:
        raise bad("can't parse BotCommandScope JSON object")
    where = "".join(f":{scope[k]}" for k in ("chat_id", "user_id") if k in scope)
    return f"{scope['type']}{where}", p.text("language_code") or ""


@method("setMyCommands")
async def set_my_commands(server: BotAPIServer, p: Params) -> Any:
    commands = p.obj("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad("can't parse commands JSON object")
    for command in commands:
        if not _COMMAND.match(str(command.get("command", "")).removeprefix("/")):
            raise bad("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
    clean = [{"command": c["command"], "description": c["description"]} for c in commands]
    server.commands[_commands_key(p)] = clean
    return True


@method("deleteMyCommands")
async def delete_my_commands(server: BotAPIServer, p: Params) -> Any:
    server.commands.pop(_commands_key(p), None)
    return True


@method("getMyCommands")
async def get_my_commands(server: BotAPIServer, p: Params) -> Any:
    return server.commands.get(_commands_key(p), [])
