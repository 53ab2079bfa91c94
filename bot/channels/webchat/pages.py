"""The web chat's HTTP side: the page at ``/`` and its JSON/SSE endpoints under ``/chat/``.

- ``GET /`` — the page (server-rendered shell; the conversation is loaded by ``chat.js``). A
  visitor without a valid cookie gets a new one here, and only here; a known one has its
  cookie renewed.
- ``GET /chat/history`` — the latest of the conversation and the cursor to stream from.
- ``POST /chat/messages`` — a typed line or a tap, through ``Runtime.receive``; answers with
  the replies it led to (the stream brings them too; the page shows each id once).
- ``GET /chat/stream`` — Server-Sent Events from ``Last-Event-ID`` / ``?after=`` on.
- ``GET /chat/files/<reply>/<n>`` — a file a reply carries, to the visitor it was for.

Every endpoint but the page answers 401 to a request without a valid cookie: the page then
reloads and its visitor starts afresh. Errors are JSON with the page's words for them."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import Response

from bot import __version__
from bot.bootstrap import App
from bot.channels.webchat import inbound, language, stream
from bot.channels.webchat.inbound import MAX_BODY, MAX_TEXT, Refused, Tap
from bot.channels.webchat.views import CHANNEL, attachment, history, reply_view
from bot.channels.webchat.visitor import Visitors
from bot.engine.events import InboundEvent
from bot.store.chat_log import conversation_locale, latest_replies, replies_after, reply

HERE = Path(__file__).parent
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
SAFE_TYPES = {"text/csv", "text/plain", "application/pdf", "application/json", "image/png"}
KEYBOARD_LOOKBACK = 50  # replies searched for the latest one with buttons


class WebChat:
    def __init__(self, app: App, key: bytes) -> None:
        self.app = app
        self.visitors = Visitors(key)
        environment = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=StrictUndefined,
        )
        self.templates = Jinja2Templates(env=environment)

    def mount(self, http: FastAPI) -> None:
        http.add_api_route("/", self.page, methods=["GET"], include_in_schema=False)
        http.add_api_route("/chat/history", self.history, methods=["GET"])
        http.add_api_route("/chat/messages", self.post, methods=["POST"])
        http.add_api_route("/chat/stream", self.stream, methods=["GET"])
        http.add_api_route("/chat/files/{reply_id}/{index}", self.file, methods=["GET"])
        http.mount("/chat/static", StaticFiles(directory=HERE / "static"), name="chat-static")

    # -- words ----------------------------------------------------------------------------------

    def locale_for(self, request: Request, visitor: str | None) -> str:
        catalog = self.app.engine.catalog
        if visitor is not None:
            held = conversation_locale(self.app.store, CHANNEL, visitor)
            if held in catalog.locales:
                return held
        return language.from_accept_language(
            request.headers.get("accept-language"),
            catalog.locales,
            self.app.settings.default_locale,
        )

    def words(self, locale: str) -> dict[str, str]:
        """Every ``web.*`` message of the locale: the page's own words, from the catalog."""
        catalog = self.app.engine.catalog
        return {
            key.removeprefix("web."): catalog.render(locale, key, {"limit": MAX_TEXT})
            for key in catalog.messages.get(locale, {})
            if key.startswith("web.")
        }

    def refusal(self, request: Request, visitor: str | None, code: str, status: int) -> Response:
        message = self.words(self.locale_for(request, visitor)).get(code, code)
        return JSONResponse({"error": code, "message": message}, status_code=status)

    # -- routes ---------------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        visitor = self.visitors.of(request)
        fresh = visitor is None
        if visitor is None:
            visitor = self.visitors.new()
        locale = self.locale_for(request, None if fresh else visitor)
        response = self.templates.TemplateResponse(
            request,
            "chat.html",
            {
                "t": self.words(locale),
                "locale": locale,
                "html_lang": language.html_lang(locale),
                "switch_to": language.switch_target(locale),
                "max_text": MAX_TEXT,
                "version": __version__,
            },
            headers=PAGE_HEADERS,
        )
        self.visitors.remember(request, response, visitor)  # again: half a year from each visit
        return response

    async def history(self, request: Request) -> Response:
        visitor = self.visitors.of(request)
        if visitor is None:
            return self.refusal(request, None, "no_visitor", 401)
        items = history(self.app.store, visitor)
        replies = [item for item in items if item["kind"] == "reply"]
        shown = {item["id"] for item in replies}
        undelivered = self.app.runtime.outgoing(CHANNEL, visitor)
        self.app.runtime.delivered([item for item in undelivered if item.id in shown])
        last = max(shown, default=0)
        return JSONResponse(
            {"items": items, "last_id": last}, headers={"Cache-Control": "no-store"}
        )

    async def post(self, request: Request) -> Response:
        visitor = self.visitors.of(request)
        if visitor is None:
            return self.refusal(request, None, "no_visitor", 401)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return self.refusal(request, visitor, "invalid", 415)  # a form from another site
        try:
            message = inbound.parse(await _body(request))
        except Refused as refused:
            return self.refusal(request, visitor, refused.code, refused.status)
        locale = self.locale_for(request, None)  # for a new conversation only
        key = f"{visitor}:{message.client_id}"
        if isinstance(message, Tap):
            label = self.tapped(visitor, message)
            if label is None:
                return self.refusal(request, visitor, "stale_button", 409)
            event = InboundEvent(
                CHANNEL, visitor, key, kind="button", text=label,
                payload={"value": message.value}, locale=locale,
            )  # fmt: skip
        else:
            event = InboundEvent(CHANNEL, visitor, key, text=message.text, locale=locale)
        delivery = await self.app.runtime.receive(event)
        mine = {m.id for m in delivery.messages if (m.channel, m.user_id) == (CHANNEL, visitor)}
        sent = []
        if mine:  # read back as stored (with their times); each is shown once by the page
            after = min(mine) - 1
            sent = [
                s
                for s in replies_after(self.app.store, CHANNEL, visitor, after)
                if s.item.id in mine
            ]
        self.app.runtime.delivered([s.item for s in sent if not s.delivered])
        echo = self.app.runtime.service.storable(event.text)  # redacted as the transcript keeps it
        return JSONResponse({"echo": echo, "replies": [reply_view(s) for s in sent]})

    def tapped(self, visitor: str, tap: Tap) -> str | None:
        """The label of the tapped button, or None when the tap does not count: a button of
        an earlier message (only the latest message with buttons takes taps), or none at all."""
        for sent in reversed(latest_replies(self.app.store, CHANNEL, visitor, KEYBOARD_LOOKBACK)):
            buttons = sent.item.payload.get("buttons")
            if buttons:
                if sent.item.id != tap.message:
                    return None
                return next((str(lbl) for lbl, value in buttons if value == tap.value), None)
        return None

    async def stream(self, request: Request) -> Response:
        visitor = self.visitors.of(request)
        if visitor is None:
            return self.refusal(request, None, "no_visitor", 401)
        after = stream.cursor_of(
            request.headers.get("last-event-id"), request.query_params.get("after")
        )
        if after is None:
            return self.refusal(request, visitor, "invalid", 400)
        state = request.app.state
        stopping = getattr(state, "exiting", None) or (lambda: False)
        return StreamingResponse(
            stream.replies(self.app.runtime, visitor, after, stopping),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def file(self, request: Request, reply_id: int, index: int) -> Response:
        visitor = self.visitors.of(request)
        if visitor is None:
            return self.refusal(request, None, "no_visitor", 401)
        sent = reply(self.app.store, CHANNEL, visitor, reply_id)
        found = None if sent is None else attachment(sent, index)
        if found is None:
            return self.refusal(request, visitor, "no_file", 404)
        name, content_type, data = found
        return Response(
            data,
            media_type=content_type if content_type in SAFE_TYPES else "application/octet-stream",
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "sandbox",
                "Cache-Control": "private, no-store",
            },
        )


async def _body(request: Request) -> bytes:
    """The request body, or ``Refused`` as soon as it is longer than a message can be."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise Refused("too_long", 413)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise Refused("too_long", 413)
    return body
