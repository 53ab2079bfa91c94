"""WeChat's API, as posbot calls it: wechatpy's client pointed at ``POSBOT_WECHAT_API_BASE``,
with the access token shared through the database and WeChat's error codes turned into ours.

wechatpy 1.8.18 has no host argument: ``API_BASE_URL`` redirects the API calls, and
``fetch_access_token`` (which has the token URL built in) is overridden here to go there too.
Its own token handling is bypassed — a token in one process's memory would be ended by the next
process's fetch — and so is its ``auto_retry``, which retries a refused token without limit.

The rules: the token is refreshed before it expires (``REFRESH_MARGIN``) and when WeChat calls
it invalid or expired (40001, 40014, 42001), the call then tried once more; "system busy" (-1),
HTTP 5xx and network failures are tried again with backoff; every other errcode is a refusal.
wechatpy is synchronous (requests): each call runs in a worker thread."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bot.errors import PlatformRefused, PlatformUnavailable
from bot.store.tokens import AccessTokens

log = logging.getLogger("posbot.wechat")
PLATFORM = "wechat"
TOKEN_REFUSED = frozenset({40001, 40014, 42001})  # invalid credential, invalid token, expired
BUSY = -1  # "system busy, try again"
OUTSIDE_WINDOW = 45015  # more than 48 hours since the merchant's last message
OVER_QUOTA = 45047  # more customer-service messages than allowed per merchant message
NOT_FOLLOWING = 43004  # the merchant unfollowed the account
REFRESH_MARGIN = 300.0  # seconds before expiry a token is replaced
ATTEMPTS = 5  # tries of a call WeChat is too busy for (backoff 0.2 s, doubling)
TIMEOUT = 10.0


class _Client(WeChatClient):  # type: ignore[misc]
    """wechatpy's client with every URL under ``base`` and the token chosen by the caller."""

    def __init__(self, appid: str, secret: str, base: str) -> None:
        super().__init__(appid, secret, timeout=TIMEOUT, auto_retry=False)
        self.base = base
        self.API_BASE_URL = f"{base}/cgi-bin/"
        self._using = threading.local()  # the token of the call this thread makes

    @property
    def access_token(self) -> str:
        return str(self._using.token)

    def use(self, token: str) -> None:
        self._using.token = token

    def fetch_access_token(self) -> dict[str, Any]:
        result: dict[str, Any] = self._fetch_access_token(
            url=f"{self.base}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )
        return result


class TokenKeeper:
    """One valid access token for the account: from memory, else the database, else a fetch
    (one thread fetches; the others wait for it and share its token)."""

    def __init__(self, client: _Client, tokens: AccessTokens, clock: Callable[[], float]) -> None:
        self.client = client
        self.tokens = tokens
        self.clock = clock
        self._lock = threading.Lock()
        self._token: tuple[str, float] | None = None  # token, expires (epoch seconds)
        self.fetches = 0

    def current(self) -> str:
        with self._lock:
            now = self.clock()
            if self._token is not None and self._token[1] - now > REFRESH_MARGIN:
                return self._token[0]
            stored = self.tokens.get(self.client.appid)
            if stored is not None and stored.expires_at.timestamp() - now > REFRESH_MARGIN:
                self._token = (stored.token, stored.expires_at.timestamp())
                return stored.token
            return self._fetch(now)

    def refused(self, token: str) -> None:
        """WeChat called ``token`` invalid: the next ``current`` is another one (a newer one
        another process fetched already, or a new fetch)."""
        with self._lock:
            if self._token is not None and self._token[0] == token:
                self._token = None
            self.tokens.forget(self.client.appid, token)

    def _fetch(self, now: float) -> str:
        try:
            result = self.client.fetch_access_token()
        except WeChatClientException as exc:
            raise _converted(exc) from exc
        except requests.RequestException as exc:
            raise PlatformUnavailable(PLATFORM, f"token: {type(exc).__name__}") from exc
        self.fetches += 1
        token = str(result["access_token"])
        expires = now + float(result.get("expires_in", 7200))
        self.tokens.put(self.client.appid, token, datetime.fromtimestamp(expires, UTC))
        self._token = (token, expires)
        log.info("wechat access token fetched (expires in %s s)", result.get("expires_in"))
        return token


def _converted(exc: WeChatClientException) -> PlatformRefused | PlatformUnavailable:
    code = exc.errcode
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if code is None:  # an HTTP error, no errcode
        if status is not None and status < 500 and status != 429:
            return PlatformRefused(PLATFORM, f"HTTP {status}")
        return PlatformUnavailable(PLATFORM, f"HTTP {status}")
    if int(code) == BUSY:
        return PlatformUnavailable(PLATFORM, "system busy", code=BUSY)
    return PlatformRefused(PLATFORM, str(exc.errmsg or "refused")[:200], code=int(code))


class WeChatApi:
    """The calls posbot makes; each one ``await``-able, retried by the rules above, raising
    ``PlatformRefused`` (with WeChat's errcode) or ``PlatformUnavailable`` when it gives up."""

    def __init__(
        self,
        appid: str,
        secret: str,
        base: str,
        tokens: AccessTokens,
        *,
        clock: Callable[[], float] = time.time,
        backoff: float = 0.2,
    ) -> None:
        self.client = _Client(appid, secret, base)
        self.keeper = TokenKeeper(self.client, tokens, clock)
        self.backoff = backoff

    async def send_text(self, openid: str, text: str) -> None:
        """A customer-service message (客服消息)."""
        await self._call(lambda: self.client.message.send_text(openid, text))

    async def send_template(
        self, openid: str, template_id: str, data: dict[str, dict[str, str]]
    ) -> None:
        await self._call(lambda: self.client.message.send_template(openid, template_id, data))

    async def create_menu(self, menu: dict[str, Any]) -> None:
        await self._call(lambda: self.client.menu.create(menu))

    async def _call(self, call: Callable[[], Any]) -> Any:
        wait = self.backoff
        token_refreshed = False
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await asyncio.to_thread(self._once, call)
            except _TokenRefused:
                if token_refreshed:
                    raise PlatformRefused(PLATFORM, "access token refused twice") from None
                token_refreshed = True
                continue
            except PlatformUnavailable as exc:
                if attempt == ATTEMPTS:
                    raise
                log.warning("wechat unavailable (%s); again in %.1f s", exc, wait)
                await asyncio.sleep(wait)
                wait *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, call: Callable[[], Any]) -> Any:
        token = self.keeper.current()
        self.client.use(token)
        try:
            return call()
        except WeChatClientException as exc:
            if exc.errcode is not None and int(exc.errcode) in TOKEN_REFUSED:
                log.info("wechat refused the access token (%s): a new one", exc.errcode)
                self.keeper.refused(token)
                raise _TokenRefused from exc
            raise _converted(exc) from exc
        except requests.RequestException as exc:
            raise PlatformUnavailable(PLATFORM, type(exc).__name__) from exc


class _TokenRefused(Exception):
    """40001/40014/42001: the call is worth one more try with a new token."""
