"""A fake Telegram Bot API server on 127.0.0.1 that real client libraries talk to over HTTP.

    async with BotAPIServer() as server:           # or the ``bot_api`` fixture
        bot = Bot(server.token, session=AiohttpSession(
            api=TelegramAPIServer.from_base(server.url)))
        update_id = server.send_text(42, "/start")   # the merchant writes
        ...                                          # the bot polls or gets a webhook POST
        assert server.sent(42)[-1]["text"] == "..."  # what the merchant sees

It speaks the protocol (``/bot<token>/<method>``, JSON, form or multipart parameters,
``{"ok": ..., "result" | "error_code", "description", "parameters"}``) and keeps Telegram's
rules: getUpdates offsets and long polling, one poller at a time, 409 while a webhook is set,
webhook retries until a 2xx (``webhook.py``), flood limits with ``retry_after``
(``limits.py``), blocked users, and the 400s for bad text, markup and edits (``checks.py``,
``methods.py``). Update objects come from ``updates.py``.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import ClientSession, web

from tests.telegram import checks
from tests.telegram import updates as u
from tests.telegram.limits import Call, FloodControl, RetryAfterGiven
from tests.telegram.methods import HANDLERS, ApiError, Params, Upload, bad, read_params
from tests.telegram.webhook import Delivery, WebhookDelivery, woken

__all__ = ["BotAPIServer", "Call", "Delivery", "RetryAfterGiven", "Upload"]

LIMITED = frozenset({"sendmessage", "senddocument", "editmessagetext", "editmessagereplymarkup"})
"""Methods counted toward the flood limits (lower-case, as Telegram matches names)."""
TO_CHAT = LIMITED | {"sendchataction"}
OUTGOING = TO_CHAT | {"answercallbackquery"}


@dataclass
class Queued:
    update: dict[str, Any]
    again: bool = False  # a redelivery: not dropped by an offset until it has been returned
    returned: bool = False


class BotAPIServer:
    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        per_chat_per_second: float = 1.0,
        burst: int = 3,
        per_bot_per_second: float = 30.0,
        webhook_backoff: tuple[float, float] = (0.2, 2.0),
        webhook_timeout: float = 5.0,
    ) -> None:
        self.token = token
        self.url = ""  # set by start(): http://127.0.0.1:PORT
        self.me = u.bot_user(int(token.split(":")[0]), first_name="POS Bot", username="posbot")
        self.webhook_backoff, self.webhook_timeout = webhook_backoff, webhook_timeout
        # what happened, for assertions
        self.calls: list[Call] = []
        self.messages: dict[int, dict[int, dict[str, Any]]] = {}
        self.reply_keyboards: dict[int, dict[str, Any] | None] = {}
        self.callback_answers: list[dict[str, Any]] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.chat_actions: list[tuple[int, str, float]] = []
        self.flood = FloodControl(per_chat_per_second, burst, per_bot_per_second)
        self.retry_afters: list[RetryAfterGiven] = self.flood.given
        self.calls_inside_retry_after: list[tuple[Call, RetryAfterGiven]] = self.flood.ignored
        self.deliveries: list[Delivery] = []
        self.updates: dict[int, dict[str, Any]] = {}  # every update ever queued, by id
        self.webhook: dict[str, Any] | None = None
        self.blocked: set[int] = set()
        self.queries: dict[str, bool] = {}  # callback_query id -> answered yet
        self.files: dict[str, Upload] = {}  # file_id -> what was uploaded
        # the queue: updates not yet confirmed (getUpdates offset) or delivered (webhook 2xx)
        self.pending: list[Queued] = []
        self.wakeup = asyncio.Event()  # set and replaced by every notify()
        self._update_ids = itertools.count(random.randint(100_000_000, 500_000_000))
        self._allowed: set[str] = set()
        self._users: dict[int, dict[str, Any]] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._failures: list[tuple[int, frozenset[str]]] = []
        self._poller = 0
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._http: ClientSession | None = None
        self._delivery: WebhookDelivery | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._http = ClientSession()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        self._closing = True
        self.notify()
        await self.stop_webhook_delivery()
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- switches ----------------------------------------------------------------------------

    def force_429(self, count: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``count`` rate-limited sends with 429, whatever the rate."""
        self.flood.force(count, retry_after)

    def fail_next(
        self, n: int = 1, status: int = 500, *, methods: Iterable[str] | None = None
    ) -> None:
        """Answer the next ``n`` calls of ``methods`` (default: every outgoing method —
        sends, edits, chat actions, callback answers) with ``status`` and ok:false."""
        names = frozenset(m.lower() for m in methods) if methods is not None else OUTGOING
        self._failures.extend([(status, names)] * n)

    def block(self, chat_id: int) -> None:
        self.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self.blocked.discard(chat_id)

    # ---- the user's side ---------------------------------------------------------------------

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        language_code: str = "zh-hans",
        first_name: str | None = None,
    ) -> int:
        sender = self._user(user_id, first_name, language_code)
        msg = u.text_message(self._new_message_id(user_id), date=_now(), sender=sender, text=text)
        return self.push({"message": msg})

    def share_contact(
        self, user_id: int, phone_number: str, *, contact_user_id: int | None = None
    ) -> int:
        sender = self._user(user_id, None, None)
        msg = u.contact_message(
            self._new_message_id(user_id),
            date=_now(),
            sender=sender,
            phone_number=phone_number,
            contact_user_id=user_id if contact_user_id is None else contact_user_id,
        )
        return self.push({"message": msg})

    def tap(self, user_id: int, message_id: int, data: str) -> int:
        """The user taps the inline button with ``data`` on a message the bot sent."""
        record = self.messages.get(user_id, {}).get(message_id)
        if record is None:
            raise ValueError(f"the bot sent no message {message_id} to chat {user_id}")
        offered = [b.get("callback_data") for b in checks.inline_buttons(record["reply_markup"])]
        if data not in offered:
            raise ValueError(f"message {message_id} has no button {data!r}, only {offered}")
        query_id = str(random.getrandbits(63))
        self.queries[query_id] = False
        query = u.callback_query(
            query_id,
            sender=self._user(user_id, None, None),
            message=self.message_object(user_id, record),
            data=data,
        )
        return self.push({"callback_query": query})

    def press(self, user_id: int, button_text: str) -> int:
        """Tap the button labelled ``button_text`` on the newest message that shows it."""
        for record in reversed(self.sent(user_id)):
            for button in checks.inline_buttons(record["reply_markup"]):
                if button["text"] == button_text and "callback_data" in button:
                    return self.tap(user_id, record["message_id"], button["callback_data"])
        raise ValueError(f"no inline button {button_text!r} in chat {user_id}")

    def push(self, raw_update: dict[str, Any]) -> int:
        """Queue any update; an ``update_id`` is given unless it has one."""
        update = {"update_id": next(self._update_ids), **raw_update}
        self.updates[update["update_id"]] = update
        self.pending.append(Queued(copy.deepcopy(update)))
        self.notify()
        return int(update["update_id"])

    def redeliver(self, update_id: int) -> None:
        """Deliver an update once more, as Telegram may (even after it was confirmed)."""
        self.pending.append(Queued(copy.deepcopy(self.updates[update_id]), again=True))
        self.notify()

    # ---- what the bot did --------------------------------------------------------------------

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages to the chat in send order, edits applied. Each: message_id,
        date, text (as the user sees it), raw_text, parse_mode, reply_markup, documents,
        caption, edits."""
        return list(self.messages.get(chat_id, {}).values())

    def last_keyboard(self, chat_id: int) -> list[tuple[str, str | None]]:
        for record in reversed(self.sent(chat_id)):
            buttons = checks.inline_buttons(record["reply_markup"])
            if buttons:
                return [(b["text"], b.get("callback_data")) for b in buttons]
        return []

    async def wait_for(self, predicate: Callable[[Self], Any], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s; last calls: {self.calls[-5:]}")
            await asyncio.sleep(0.01)

    def message_object(self, chat_id: int, record: dict[str, Any]) -> dict[str, Any]:
        """The Message object Telegram returns for a message the bot sent."""
        markup = record["reply_markup"]
        document = record["documents"][0] if record["documents"] else None
        return u.message(
            record["message_id"],
            date=record["date"],
            chat=u.private_chat(chat_id, first_name=self._user(chat_id, None, None)["first_name"]),
            sender=self.me,
            text=None if document else record["text"],
            caption=record["caption"],
            document=document and {k: v for k, v in document.items() if k != "data"},
            reply_markup=markup if markup and "inline_keyboard" in markup else None,
            edit_date=record.get("edit_date"),
        )

    # ---- state the handlers in methods.py change -----------------------------------------------

    def clock(self) -> float:
        return asyncio.get_running_loop().time()

    async def poll(
        self, *, offset: int | None, limit: int, timeout: int, allowed_updates: Any
    ) -> list[dict[str, Any]]:
        """getUpdates: confirm below ``offset``, then return at once or when one arrives."""
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            )
        if allowed_updates is not None:
            self._allowed = set(allowed_updates)
        self._poller += 1
        me = self._poller
        if offset is not None and offset < 0:
            self.pending = self.pending[offset:]
        elif offset is not None:
            self.pending = [
                q
                for q in self.pending
                if q.update["update_id"] >= offset or (q.again and not q.returned)
            ]
        deadline = self.clock() + timeout
        while True:
            if self._poller != me:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request;"
                    " make sure that only one bot instance is running",
                )
            if self._allowed:
                self.pending = [q for q in self.pending if u.kind(q.update) in self._allowed]
            batch = self.pending[:limit]
            if batch or self._closing or self.clock() >= deadline:
                for queued in batch:
                    queued.returned = True
                return [copy.deepcopy(q.update) for q in batch]
            await woken(self.wakeup, deadline - self.clock())

    def drop_pending(self) -> None:
        self.pending.clear()

    def pending_update_count(self) -> int:
        return len(self.pending)

    def record_sent(
        self,
        chat_id: int,
        p: Params,
        *,
        markup: dict[str, Any] | None,
        text: str | None = None,
        caption: str | None = None,
        upload: Upload | None = None,
    ) -> dict[str, Any]:
        """Keep a new message of the bot's and return it as a Message object."""
        documents = []
        if upload is not None:
            file_id = next((k for k, v in self.files.items() if v is upload), None)
            file_id = file_id or f"BQAC-{len(self.files) + 1}"
            self.files[file_id] = upload
            documents.append(
                {
                    "file_id": file_id,
                    "file_unique_id": f"U{file_id}",
                    "file_name": upload.file_name,
                    "mime_type": upload.mime_type,
                    "file_size": len(upload.data),
                    "data": upload.data,
                }
            )
        record = {
            "message_id": self._new_message_id(chat_id),
            "date": _now(),
            "text": text,
            "raw_text": p.text("text"),
            "parse_mode": p.text("parse_mode"),
            "reply_markup": markup,
            "documents": documents,
            "caption": caption,
            "edits": 0,
        }
        self.messages.setdefault(chat_id, {})[record["message_id"]] = record
        if markup and ("keyboard" in markup or "remove_keyboard" in markup):
            self.reply_keyboards[chat_id] = markup if "keyboard" in markup else None
        return self.message_object(chat_id, record)

    def record_edit(
        self, chat_id: int, record: dict[str, Any], markup: dict[str, Any] | None
    ) -> dict[str, Any]:
        record.update(reply_markup=markup, edit_date=_now(), edits=record["edits"] + 1)
        return self.message_object(chat_id, record)

    # ---- internals ---------------------------------------------------------------------------

    def notify(self) -> None:
        self.wakeup.set()
        self.wakeup = asyncio.Event()

    def _user(
        self, user_id: int, first_name: str | None, language_code: str | None
    ) -> dict[str, Any]:
        known = self._users.get(user_id, {})
        name = first_name or known.get("first_name") or f"User{user_id}"
        self._users[user_id] = u.user(
            user_id, first_name=name, language_code=language_code or known.get("language_code")
        )
        return self._users[user_id]

    def _new_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _json(ApiError(401, "Unauthorized").body, 401)
        name = request.match_info["method"]
        if name.lower() not in HANDLERS:
            return _json(ApiError(404, "Not Found").body, 404)
        status, body = await self.call(name, await read_params(request))
        return _json(body, status)

    async def call(self, method: str, raw: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Run one API method as if it came over HTTP; records it in ``calls``."""
        name, params = method.lower(), Params(raw)
        started = asyncio.get_running_loop().time()
        call = Call(method, raw, started, 200)
        try:
            spend = self._before(name, params, call)
            result = await HANDLERS[name](self, params)
            spend()
            status, body = 200, {"ok": True, "result": result}
        except ApiError as exc:
            status, body = exc.status, exc.body
        except checks.BadRequest as exc:
            status, body = 400, bad(str(exc)).body
        self.calls.append(call._replace(status=status))
        return status, body

    def _before(self, name: str, params: Params, call: Call) -> Callable[[], None]:
        """Injected failures, blocked chats and flood limits, in Telegram's order; returns
        what to do once the call succeeded (spend its flood tokens)."""
        for i, (status, names) in enumerate(self._failures):
            if name in names:
                del self._failures[i]
                raise ApiError(status, "Internal Server Error")
        if name not in TO_CHAT:
            return _nothing
        chat_id = params.chat_id()
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return self.flood.admit(call, chat_id) if name in LIMITED else _nothing

    # ---- webhook delivery (webhook.py) -------------------------------------------------------

    def start_webhook_delivery(self) -> None:
        assert self._http is not None, "start() the server first"
        self._delivery = WebhookDelivery(self, self._http)
        self._delivery.start()

    async def stop_webhook_delivery(self) -> None:
        if self._delivery is not None:
            await self._delivery.stop()
        self._delivery = None


def _nothing() -> None:
    pass


def _json(body: dict[str, Any], status: int) -> web.Response:
    return web.json_response(body, status=status)


def _now() -> int:
    return int(time.time())
