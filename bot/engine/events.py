"""What flows into the engine and what comes out of it. Plain, frozen, JSON-friendly."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

EventKind = Literal["text", "button", "effect", "status", "agent"]  # agent: a person acts


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """One thing that happened to a conversation: a merchant's message, a tap, an effect's result,
    a provider status change. ``dedup_key`` is the platform's id (Telegram update_id, WeChat MsgId,
    ...): the same key twice changes nothing."""

    channel: str
    user_id: str
    dedup_key: str
    kind: EventKind = "text"
    text: str = ""
    payload: Mapping[str, Any] = field(default_factory=dict)
    locale: str | None = None  # the platform's language hint for a new conversation
    # the channel answers in its webhook's response (WeChat's passive reply): the replies are
    # claimed (leased) by this process as they are committed, so no sender anywhere takes them
    # until the channel has delivered them itself or handed them back
    lease_replies: bool = False

    @property
    def conversation_key(self) -> tuple[str, str]:
        return (self.channel, self.user_id)


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Reply:
    """A message for the merchant, already rendered in their language."""

    text: str
    buttons: tuple[Button, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    keys: tuple[str, ...] = ()  # the locale messages it was made of, for tests and the console
    share_phone: str | None = None  # label of a "share my phone number" button, where possible
    in_place: bool = False  # replaces the message whose button was tapped (a ticked checklist)


@dataclass(frozen=True, slots=True)
class Effect:
    """Something the runtime must do outside the engine (a provider call). Its result comes back
    as an ``effect`` event carrying the same ``token``."""

    call: str
    params: Mapping[str, Any]
    token: str
    secret: tuple[str, ...] = ()  # params scrubbed from the outbox once the call has run


_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return value if value.isascii() else _SURROGATE.sub("\ufffd", value)
    if isinstance(value, Mapping):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def scrubbed(event: InboundEvent) -> InboundEvent:
    """The event with every lone surrogate (invalid UTF-8 read with surrogateescape, ``\\ud800``
    in a platform's JSON) replaced by U+FFFD: no store can encode them, so left in they would
    fail the event on every redelivery."""
    if event.kind in ("effect", "status", "agent"):  # made by posbot itself
        return event
    strings = (event.channel, event.user_id, event.dedup_key, event.text)
    if all(s.isascii() for s in strings) and all(
        isinstance(v, str) and v.isascii() for v in event.payload.values()
    ):
        return event
    return replace(
        event,
        channel=_scrub(event.channel),
        user_id=_scrub(event.user_id),
        dedup_key=_scrub(event.dedup_key),
        text=_scrub(event.text),
        payload=_scrub(event.payload),
        locale=_scrub(event.locale),
    )
