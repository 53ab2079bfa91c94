"""A fake of WeChat's Official Account API on 127.0.0.1 that the real wechatpy client talks to
(``POSBOT_WECHAT_API_BASE`` pointed at ``server.url``).

    async with WeChatAPIServer() as server:            # or the ``wechat_api`` fixture
        server.user_wrote(OPENID)                      # opens the 48-hour window, quota 5
        ...                                            # posbot calls the API
        assert server.inbox(OPENID)[-1].text == "..."  # what the merchant sees

It keeps WeChat's rules as its documents state them, answering ``{"errcode", "errmsg"}`` with
HTTP 200 as WeChat does:

- ``GET /cgi-bin/token``: ``grant_type=client_credential`` with the right appid and secret
  (40013 / 40125 otherwise) gives a token valid ``token_ttl`` seconds. Every fetch makes a new
  token; as on WeChat the previous one stays valid for five minutes, then it is 40001.
- every other call needs a live ``access_token`` (41001 missing, 40001 invalid, 42001 expired);
  ``expire_tokens()`` ends all tokens now (42001), ``invalidate_tokens()`` makes them 40001.
- ``POST /cgi-bin/message/custom/send`` (客服消息): only within 48 hours of the merchant's last
  message (45015), at most ``quota`` messages per merchant message (45047), text of at most
  2,048 bytes (45002); recorded.
- ``POST /cgi-bin/message/template/send``: a known template id (40037) to a follower; recorded.
- ``POST /cgi-bin/menu/create``: 1–3 buttons of at most 5 sub-buttons, names within WeChat's
  byte limits (40016 / 40018 / 40017 for type); recorded.
- ``fail_next(n, errcode=-1)`` / ``fail_next(n, status=503)``: system busy / an HTTP error.

What a merchant received — passive replies (recorded by ``tests.wechat.push``), customer-service
and template messages — is ``inbox(openid)``, in order.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

WINDOW = 48 * 3600.0  # seconds after the merchant's last message that CS messages may go
QUOTA = 5  # customer-service messages per merchant message
OLD_TOKEN_GRACE = 300.0  # a replaced token keeps working this long
MAX_TEXT = 2048  # bytes of a customer-service text


@dataclass(frozen=True)
class Received:
    """One message a merchant got: ``how`` is passive, custom or template."""

    openid: str
    how: str
    text: str
    at: float
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    path: str
    errcode: int  # 0: ok; an HTTP error: -status
    at: float


@dataclass
class _User:
    last_message: float = 0.0
    quota: int = 0
    following: bool = True


class WeChatAPIServer:
    def __init__(
        self,
        appid: str = "wx0123456789abcdef",
        secret: str = "secret",
        *,
        token_ttl: int = 7200,
        quota: int = QUOTA,
        templates: tuple[str, ...] = ("TPL_STATUS",),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.appid, self.secret = appid, secret
        self.token_ttl, self.quota = token_ttl, quota
        self.templates = set(templates)
        self.clock = clock
        self.url = ""
        self.tokens: dict[str, tuple[float, int]] = {}  # token → (valid until, refusal code)
        self.token_fetches = 0
        self.calls: list[Call] = []
        self.received: list[Received] = []
        self.refused: list[tuple[str, int]] = []  # (openid, errcode) of refused sends
        self.menus: list[dict[str, Any]] = []
        self.users: dict[str, _User] = {}
        self._failures: list[tuple[int, int]] = []  # (HTTP status, errcode)
        self._runner: web.AppRunner | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom)
        app.router.add_post("/cgi-bin/message/template/send", self._template)
        app.router.add_post("/cgi-bin/menu/create", self._menu)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- the merchant's side and the switches ----------------------------------------------

    def user_wrote(self, openid: str, at: float | None = None) -> None:
        """The merchant sent a message (``at``, default now): the window opens, quota renewed."""
        user = self.users.setdefault(openid, _User())
        user.last_message = self.clock() if at is None else at
        user.quota = self.quota

    def unfollow(self, openid: str) -> None:
        self.users.setdefault(openid, _User()).following = False

    def record_passive(self, openid: str, text: str) -> None:
        self.received.append(Received(openid, "passive", text, self.clock()))

    def expire_tokens(self) -> None:
        """Every token issued so far has expired (42001)."""
        self.tokens = {t: (0.0, 42001) for t in self.tokens}

    def invalidate_tokens(self) -> None:
        """Every token issued so far is invalid (40001), e.g. ended by a fetch elsewhere."""
        self.tokens = {t: (0.0, 40001) for t in self.tokens}

    def fail_next(self, n: int = 1, *, errcode: int = -1, status: int = 200) -> None:
        """The next ``n`` API calls (the token fetch included) fail: "system busy" (-1) or, with
        ``status`` 5xx, an HTTP error."""
        self._failures.extend([(status, errcode)] * n)

    # ---- what posbot did -------------------------------------------------------------------

    def inbox(self, openid: str, how: str | None = None) -> list[Received]:
        return [r for r in self.received if r.openid == openid and how in (None, r.how)]

    def texts(self, openid: str) -> list[str]:
        return [r.text for r in self.inbox(openid)]

    async def wait_for(self, predicate: Callable[[Self], Any], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s; last calls: {self.calls[-5:]}")
            await asyncio.sleep(0.01)

    # ---- the API ---------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        q = request.query
        failed = self._failed(request.path)
        if failed is not None:
            return failed
        if q.get("grant_type") != "client_credential":
            return self._answer(request.path, 40002, "invalid grant_type")
        if q.get("appid") != self.appid:
            return self._answer(request.path, 40013, "invalid appid")
        if q.get("secret") != self.secret:
            return self._answer(request.path, 40125, "invalid appsecret")
        now = self.clock()
        self.tokens = {  # the previous tokens: five more minutes
            t: (min(until, now + OLD_TOKEN_GRACE), code) for t, (until, code) in self.tokens.items()
        }
        token = secrets.token_urlsafe(48)
        self.tokens[token] = (now + self.token_ttl, 42001)
        self.token_fetches += 1
        self.calls.append(Call(request.path, 0, now))
        return web.json_response({"access_token": token, "expires_in": self.token_ttl})

    async def _custom(self, request: web.Request) -> web.Response:
        body, refused = await self._authorized(request)
        if refused is not None:
            return refused
        openid = str(body.get("touser", ""))
        if body.get("msgtype") != "text" or not isinstance(body.get("text"), dict):
            return self._answer(request.path, 40008, "invalid message type")
        text = str(body["text"].get("content", ""))
        if not text or len(text.encode()) > MAX_TEXT:
            return self._answer(request.path, 45002, "content size out of limit")
        user = self.users.setdefault(openid, _User())  # a follower who may never have written
        if not user.following:
            return self._refuse(request.path, openid, 43004, "require subscribe")
        if self.clock() - user.last_message > WINDOW:
            return self._refuse(request.path, openid, 45015, "response out of time limit")
        if user.quota <= 0:
            return self._refuse(request.path, openid, 45047, "out of response count limit")
        user.quota -= 1
        self.received.append(Received(openid, "custom", text, self.clock()))
        return self._answer(request.path, 0, "ok")

    async def _template(self, request: web.Request) -> web.Response:
        body, refused = await self._authorized(request)
        if refused is not None:
            return refused
        openid = str(body.get("touser", ""))
        if body.get("template_id") not in self.templates:
            return self._answer(request.path, 40037, "invalid template_id")
        data = body.get("data")
        if not isinstance(data, dict) or not all(
            isinstance(v, dict) and "value" in v for v in data.values()
        ):
            return self._answer(request.path, 47001, "data format error")
        if not self.users.setdefault(openid, _User()).following:
            return self._refuse(request.path, openid, 43004, "require subscribe")
        text = "\n".join(str(v["value"]) for v in data.values())
        self.received.append(Received(openid, "template", text, self.clock(), data))
        msgid = len(self.received)
        self.calls.append(Call(request.path, 0, self.clock()))
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": msgid})

    async def _menu(self, request: web.Request) -> web.Response:
        body, refused = await self._authorized(request)
        if refused is not None:
            return refused
        buttons = body.get("button")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            return self._answer(request.path, 40016, "invalid button size")
        for button in buttons:
            subs = button.get("sub_button") or []
            if len(str(button.get("name", "")).encode()) > 16 or len(subs) > 5:
                return self._answer(request.path, 40018, "invalid button name size")
            for each in subs or [button]:
                if each.get("type") != "click" or not each.get("key"):
                    return self._answer(request.path, 40017, "invalid button type")
                if len(str(each.get("name", "")).encode()) > 60:
                    return self._answer(request.path, 40018, "invalid button name size")
        self.menus.append(body)
        return self._answer(request.path, 0, "ok")

    # ---- helpers ---------------------------------------------------------------------------

    async def _authorized(self, request: web.Request) -> tuple[dict[str, Any], web.Response | None]:
        failed = self._failed(request.path)
        if failed is not None:
            return {}, failed
        token = request.query.get("access_token")
        if not token:
            return {}, self._answer(request.path, 41001, "access_token missing")
        until, code = self.tokens.get(token, (0.0, 40001))
        if self.clock() >= until:
            return {}, self._answer(request.path, code, "access_token expired or invalid")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return {}, self._answer(request.path, 47001, "data format error")
        if not isinstance(body, dict):
            return {}, self._answer(request.path, 47001, "data format error")
        return body, None

    def _failed(self, path: str) -> web.Response | None:
        if not self._failures:
            return None
        status, errcode = self._failures.pop(0)
        if status >= 400:
            self.calls.append(Call(path, -status, self.clock()))
            return web.Response(status=status, text="busy")
        return self._answer(path, errcode, "system error")

    def _refuse(self, path: str, openid: str, errcode: int, errmsg: str) -> web.Response:
        self.refused.append((openid, errcode))
        return self._answer(path, errcode, errmsg)

    def _answer(self, path: str, errcode: int, errmsg: str) -> web.Response:
        self.calls.append(Call(path, errcode, self.clock()))
        return web.json_response({"errcode": errcode, "errmsg": errmsg})
