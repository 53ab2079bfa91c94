"""A WeChat push, read: the ``InboundEvent`` it is, or why posbot does not take it.

- A text (and a voice message WeChat transcribed) is the merchant's words; a typed number of
  the latest reply's options is that option, as on the terminal.
- ``subscribe`` greets (``/start``); a menu click (``CLICK`` with one of our keys) is its
  command; ``unsubscribe``, link views, location reports and job reports change nothing.
- Anything else the merchant sends (image, voice, video, location, link, file, ...) is
  ``unsupported``: the channel answers it with a "please type" and changes nothing.

The dedup key is the MsgId; an event has none, so it is the sender and CreateTime (WeChat's own
rule for telling retries apart). Both are per account. The event's replies are leased to the
process that handles it as they are committed (``lease_replies``): it answers passively or hands
them to the senders, and no other process's sender takes them meanwhile."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.channels.wechat_text import MENU, button_of
from bot.engine.events import InboundEvent

CHANNEL = "wechat"
MAX_ID = 128  # the dedup key and user id columns hold this much

Kind = Literal["event", "unsupported", "ignored"]
LastReply = Callable[[str], Mapping[str, Any] | None]  # openid → the latest reply's payload


@dataclass(frozen=True, slots=True)
class Push:
    kind: Kind
    openid: str
    account: str  # the 公众号's original id (ToUserName): a passive reply comes from it
    key: str
    event: InboundEvent | None = None


def read(fields: Mapping[str, Any], appid: str, last_reply: LastReply) -> Push | None:
    """What the push is; None when it is not a message from a merchant at all."""
    openid = _str(fields.get("FromUserName"))
    account = _str(fields.get("ToUserName"))
    kind = _str(fields.get("MsgType")).lower()
    if not openid or not kind or len(openid) > 64:
        return None
    msg_id = _str(fields.get("MsgId"))
    created = _str(fields.get("CreateTime"))
    key = f"{appid}:{msg_id}" if msg_id else f"{appid}:{openid}:{created}"
    key = key[:MAX_ID]

    def event(text: str, **extra: Any) -> Push:
        return Push(
            "event",
            openid,
            account,
            key,
            InboundEvent(CHANNEL, openid, key, text=text, lease_replies=True, **extra),
        )

    if kind == "text":
        text = _str(fields.get("Content"))
        chosen = button_of(last_reply(openid), text)
        if chosen is not None:
            label, value = chosen
            return event(label, kind="button", payload={"value": value})
        return event(text)
    if kind == "voice" and _str(fields.get("Recognition")).strip():
        return event(_str(fields.get("Recognition")))
    if kind == "event":
        name = _str(fields.get("Event")).lower()
        if name == "subscribe":
            return event("/start")
        if name == "click" and _str(fields.get("EventKey")) in MENU:
            return event(f"/{MENU[_str(fields.get('EventKey'))]}")
        return Push("ignored", openid, account, key)
    return Push("unsupported", openid, account, key)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
