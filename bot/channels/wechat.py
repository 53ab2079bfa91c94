"""The WeChat Official Account (公众号) channel: WeChat's message push on ``/wechat`` in, passive
replies and customer-service messages out.

WeChat waits five seconds for the answer to a push, then tries again (three attempts). A push
is handled (committed) at once, its replies leased to this process as they are committed; when
its first reply is committed within ``PASSIVE_BUDGET`` it goes back in the response (a passive
reply, encrypted in safe mode) and is marked delivered; otherwise the response is ``success``.
Either way, once the response has gone the lease is given back and the senders deliver the
rest as customer-service messages, in order. A retry of a push still being handled answers
``success``: in this process it is known in flight, in another the dedup key in the store
makes it a duplicate, and no sender anywhere takes the leased replies meanwhile — so a push
gets one answer, passive or customer-service, never both."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter

from fastapi import FastAPI, Request, Response
from starlette.background import BackgroundTask

from bot.bootstrap import App
from bot.channels.base import Channel
from bot.channels.wechat_api import WeChatApi
from bot.channels.wechat_inbound import CHANNEL, Push, read
from bot.channels.wechat_protocol import Gate, Opened, Refused, text_reply
from bot.channels.wechat_sender import WeChatSender
from bot.channels.wechat_text import parts_of
from bot.i18n import resolve_locale
from bot.runtime import Delivery
from bot.settings import Settings
from bot.store.tokens import AccessTokens
from bot.store.transaction import OutboxItem

log = logging.getLogger("posbot.wechat")
PATH = "/wechat"
PASSIVE_BUDGET = 4.0  # seconds: WeChat gives up at five
SUCCESS = "success"  # WeChat's "received, no passive reply"


class WeChatChannel(Channel):
    name = CHANNEL
    # a customer-service message cannot carry a file (only text, images, voice, video…): an
    # attachment is only named in the text (``wechat_text``), so every export is a link here
    max_attachment_bytes = 0

    def __init__(self, settings: Settings, app: App) -> None:
        assert settings.wechat_token and settings.wechat_appid and settings.wechat_secret
        self.settings, self.app = settings, app
        self.appid = settings.wechat_appid
        aes = settings.wechat_aes_key
        self.gate = Gate(
            settings.wechat_token.get_secret_value(),
            self.appid,
            None if aes is None else aes.get_secret_value(),
        )
        self.api = WeChatApi(
            self.appid,
            settings.wechat_secret.get_secret_value(),
            settings.wechat_api_base,
            AccessTokens(app.store, CHANNEL),
        )
        self._answering: Counter[str] = Counter()  # openids whose push is being answered
        self._in_flight: set[str] = set()  # dedup keys being handled in this process
        self._seen: dict[str, None] = {}  # keys of pushes answered without the engine
        self.sender = WeChatSender(
            self.api,
            app.runtime,
            template_id=settings.wechat_template_id,
            template_field=settings.wechat_template_field,
            holding=lambda chat: self._answering[chat] > 0,
        )
        self._tasks: list[asyncio.Task[None]] = []

    def describe(self) -> str:
        mode = "safe mode (AES)" if self.gate.crypto is not None else "plain mode"
        return f"wechat: {self.appid}, {PATH} in {mode}, API {self.settings.wechat_api_base}"

    def mount(self, http: FastAPI) -> None:
        http.add_api_route(PATH, self.verify, methods=["GET"])
        http.add_api_route(PATH, self.push, methods=["POST"])

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self.sender.run()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    # -- in ----------------------------------------------------------------------------------------

    async def verify(self, request: Request) -> Response:
        try:
            echo = self.gate.verify_url(request.query_params)
        except Refused as exc:
            log.warning("wechat URL verification refused: %s", exc.why)
            return Response(status_code=exc.status)
        return Response(echo, media_type="text/plain")

    async def push(self, request: Request) -> Response:
        began = time.monotonic()
        try:
            opened = self.gate.open(request.query_params, await request.body())
        except Refused as exc:
            log.warning("wechat push refused: %s", exc.why)
            return Response(status_code=exc.status)
        push = read(opened.fields, self.appid, self._last_reply)
        if push is None or push.kind == "ignored" or push.key in self._in_flight:
            return Response(SUCCESS, media_type="text/plain")
        if push.kind == "unsupported":
            return self._please_type(opened, push)
        assert push.event is not None
        self._in_flight.add(push.key)
        self._answering[push.openid] += 1
        turn = _Turn(self, push.openid)
        work = asyncio.ensure_future(self.app.runtime.receive(push.event, on_commit=turn.committed))
        work.add_done_callback(lambda _: self._in_flight.discard(push.key))
        after = BackgroundTask(turn.close)  # after the response: the rest to the senders
        try:
            budget = PASSIVE_BUDGET - (time.monotonic() - began)
            done, _ = await asyncio.wait({work}, timeout=budget)
            if not done:
                log.info("wechat push %s slow: replies go as customer-service messages", push.key)
                return Response(SUCCESS, media_type="text/plain", background=after)
            return self._passive(opened, push, work.result(), turn, after)
        except Exception:
            log.exception("wechat push %s not handled", push.key)
            return Response(SUCCESS, media_type="text/plain", background=after)

    def _passive(
        self, opened: Opened, push: Push, delivery: Delivery, turn: _Turn, after: BackgroundTask
    ) -> Response:
        """The first reply in the response when it is this push's own (leased to this process)
        and nothing older waits for this merchant."""
        if not delivery.messages or not turn.held:
            return Response(SUCCESS, media_type="text/plain", background=after)
        first = delivery.messages[0]
        waiting = self.app.runtime.outgoing(CHANNEL, push.openid, limit=1)
        parts = parts_of(first.payload)
        if turn.held[0] != first.id or not waiting or waiting[0].id != first.id or len(parts) != 1:
            return Response(SUCCESS, media_type="text/plain", background=after)
        self.app.store.mark_sent([(first.id, {"sent_as": "passive"})])
        xml = text_reply(push.openid, push.account, parts[0], time.time())
        return Response(self.gate.seal(opened, xml), media_type="application/xml", background=after)

    def _hand_back(self, held: list[int]) -> None:
        """Replies leased at commit and not answered passively: the senders' now."""
        self.app.store.release_claims(held)
        self.app.runtime.notifier.notify(CHANNEL)

    def _release(self, openid: str) -> None:
        self._answering[openid] -= 1
        if self._answering[openid] <= 0:
            del self._answering[openid]
        self.app.runtime.notifier.notify(CHANNEL)

    def _please_type(self, opened: Opened, push: Push) -> Response:
        """An image, a voice message, a location...: one "please type", nothing changed."""
        if push.key in self._seen:
            return Response(SUCCESS, media_type="text/plain")
        self._seen[push.key] = None
        while len(self._seen) > 10_000:
            del self._seen[next(iter(self._seen))]
        catalog = self.app.engine.catalog
        with self.app.store.reading() as tx:
            found = tx.conversation_locale(CHANNEL, push.openid)
        hint = None if found is None else found[1]
        locale = resolve_locale(hint, catalog.locales, self.settings.default_locale)
        text = catalog.render(locale, "wechat.please_type", {})
        xml = text_reply(push.openid, push.account, text, time.time())
        return Response(self.gate.seal(opened, xml), media_type="application/xml")

    def _last_reply(self, openid: str) -> dict[str, object] | None:
        last = self.app.runtime.last_reply(CHANNEL, openid)
        return None if last is None else last.payload


class _Turn:
    """One push being answered: the replies its commit leased to this process (``held``), and
    whether the answer has gone (``close``) — after that, what is held, or is leased by a
    commit still to come, goes back to the senders at once."""

    def __init__(self, channel: WeChatChannel, openid: str) -> None:
        self.channel, self.openid = channel, openid
        self.held: list[int] = []
        self.closed = False

    def committed(self, messages: list[OutboxItem]) -> None:
        self.held = [item.id for item in messages]
        if self.closed:
            self._give_back()

    def close(self) -> None:
        self.closed = True
        self._give_back()
        self.channel._release(self.openid)

    def _give_back(self) -> None:
        held, self.held = self.held, []
        if held:
            self.channel._hand_back(held)
