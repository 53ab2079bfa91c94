"""What a page may POST to ``/chat/messages``, checked before anything reaches the runtime.

One JSON object: ``{"id": "<client-made id>", "text": "..."}`` for a typed line, or
``{"id": ..., "tap": {"message": <reply id>, "value": "..."}}`` for a button. The id is made
once per message by the page and sent again with every retry: the dedup key is
``<visitor>:<id>``, so a POST resent after a lost answer counts once."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

MAX_TEXT = 2000  # characters a merchant may send at once (what the transcript keeps, too)
MAX_BODY = 16 * 1024  # bytes of a request body: a full message in any script, and then some
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class Refused(Exception):
    """A request the page should not have sent: ``code`` says why (and picks the page's
    words for it), ``status`` is the HTTP status to answer with."""

    def __init__(self, code: str, status: int) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


@dataclass(frozen=True, slots=True)
class Typed:
    client_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Tap:
    client_id: str
    message: int
    value: str


def parse(body: bytes) -> Typed | Tap:
    """The message a body carries; ``Refused`` when it is not one."""
    if len(body) > MAX_BODY:
        raise Refused("too_long", 413)
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, nested without end
        raise Refused("invalid", 400) from None
    if not isinstance(data, dict):
        raise Refused("invalid", 400)
    client_id = data.get("id")
    if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
        raise Refused("invalid", 400)
    tap = data.get("tap")
    if tap is not None:
        return _tap(client_id, tap)
    text = data.get("text")
    if not isinstance(text, str):
        raise Refused("invalid", 400)
    if len(text) > MAX_TEXT:
        raise Refused("too_long", 413)
    if not text.strip():
        raise Refused("empty", 400)
    return Typed(client_id, text)


def _tap(client_id: str, tap: Any) -> Tap:
    if not isinstance(tap, dict):
        raise Refused("invalid", 400)
    message, value = tap.get("message"), tap.get("value")
    if type(message) is not int or message <= 0 or not isinstance(value, str) or not value:
        raise Refused("invalid", 400)
    if len(value) > 256:
        raise Refused("invalid", 400)
    return Tap(client_id, message, value)
