"""Who is chatting on the web: an anonymous visitor, known by a random id in a signed cookie.

Nothing else identifies a merchant on the web chat, so the cookie is the key to their
conversation: HttpOnly (no script reads it), SameSite=Lax (another site's form posts without
it), signed with posbot's secret key for this purpose only (a made-up or altered cookie is
worth nothing: its holder becomes a new visitor, never someone else)."""

from __future__ import annotations

import re
import secrets

from starlette.requests import Request
from starlette.responses import Response

from bot.secret_key import sign, unsign

COOKIE = "posbot_visitor"
PURPOSE = "webchat-visitor"
MAX_AGE = 180 * 24 * 3600  # seconds: a merchant coming back within half a year finds the chat
VISITOR = re.compile(r"[A-Za-z0-9_-]{22}")  # what ``secrets.token_urlsafe(16)`` makes


class Visitors:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def of(self, request: Request) -> str | None:
        """The visitor the request's cookie names, or None (no cookie, a forged one)."""
        value = unsign(self._key, PURPOSE, request.cookies.get(COOKIE))
        return value if value is not None and VISITOR.fullmatch(value) else None

    @staticmethod
    def new() -> str:
        return secrets.token_urlsafe(16)

    def remember(self, request: Request, response: Response, visitor: str) -> None:
        """Hand the visitor its cookie (Secure when the page was served over https)."""
        response.set_cookie(
            COOKIE,
            sign(self._key, PURPOSE, visitor),
            max_age=MAX_AGE,
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
