"""A chat as the merchant saw it, read back for a channel that shows the whole conversation
again (the web chat after a reload): the replies in the outbox, delivered or not, and the lines
the merchant typed, from the transcript (redacted as stored).

The outbox id is the cursor: a page that has shown reply ``n`` asks for what came after ``n``,
so a reconnect misses nothing and shows nothing twice, whichever process answers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from bot.store.database import READ_ONLY
from bot.store.repository import Store
from bot.store.tables import CONVERSATION, OUTBOX, TRANSCRIPT
from bot.store.transaction import OutboxItem, outbox_item


@dataclass(frozen=True, slots=True)
class Sent:
    """A reply to the merchant, with when it was committed and whether it was delivered."""

    item: OutboxItem
    created_at: datetime
    delivered: bool


@dataclass(frozen=True, slots=True)
class Typed:
    """A line the merchant sent (a tap is stored as its label), redacted as the transcript
    keeps it. ``replies_before``: how many replies committed at the same moment (in the same
    transaction) came before it — a transaction may hold several events of one chat."""

    text: str
    created_at: datetime
    replies_before: int


def _aware(moment: datetime) -> datetime:
    # SQLite hands datetimes back without their zone; posbot only ever stores UTC
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@contextmanager
def _reading(store: Store) -> Iterator[Connection]:
    with store.engine.connect() as connection:
        yield connection.execution_options(**{READ_ONLY: True})


def _sent(row: Any) -> Sent:
    item = outbox_item(row)
    return Sent(item, _aware(row.created_at), row.done_at is not None)


def replies_after(
    store: Store, channel: str, user_id: str, after: int = 0, limit: int = 100
) -> list[Sent]:
    """The replies to that user with an outbox id above ``after``, oldest first."""
    query = (
        select(OUTBOX)
        .where(
            OUTBOX.c.kind == "message",
            OUTBOX.c.channel == channel,
            OUTBOX.c.user_id == user_id,
            OUTBOX.c.id > after,
        )
        .order_by(OUTBOX.c.id)
        .limit(limit)
    )
    with _reading(store) as connection:
        return [_sent(row) for row in connection.execute(query).all()]


def latest_replies(store: Store, channel: str, user_id: str, limit: int) -> list[Sent]:
    """The last ``limit`` replies to that user, oldest first."""
    query = (
        select(OUTBOX)
        .where(OUTBOX.c.kind == "message", OUTBOX.c.channel == channel, OUTBOX.c.user_id == user_id)
        .order_by(OUTBOX.c.id.desc())
        .limit(limit)
    )
    with _reading(store) as connection:
        return [_sent(row) for row in reversed(connection.execute(query).all())]


def reply(store: Store, channel: str, user_id: str, outbox_id: int) -> Sent | None:
    """One reply, only if it was meant for that user (a file asked for by its id)."""
    query = select(OUTBOX).where(
        OUTBOX.c.id == outbox_id,
        OUTBOX.c.kind == "message",
        OUTBOX.c.channel == channel,
        OUTBOX.c.user_id == user_id,
    )
    with _reading(store) as connection:
        row = connection.execute(query).first()
    return None if row is None else _sent(row)


def typed_since(
    store: Store, channel: str, user_id: str, since: datetime | None, limit: int
) -> list[Typed]:
    """What the user sent from ``since`` on (None: the latest lines), oldest first."""
    query = (
        select(TRANSCRIPT.c.direction, TRANSCRIPT.c.text, TRANSCRIPT.c.created_at)
        .join(CONVERSATION, CONVERSATION.c.id == TRANSCRIPT.c.conversation_id)
        .where(CONVERSATION.c.channel == channel, CONVERSATION.c.user_id == user_id)
        .order_by(TRANSCRIPT.c.id.desc())
        .limit(limit * 4)  # the replies' lines come with them: most lines are replies
    )
    if since is not None:
        query = query.where(TRANSCRIPT.c.created_at >= since)
    with _reading(store) as connection:
        rows = list(reversed(connection.execute(query).all()))
    typed: list[Typed] = []
    moment, replies = None, 0
    for row in rows:
        created_at = _aware(row.created_at)
        if created_at != moment:
            moment, replies = created_at, 0
        if row.direction == "in":
            typed.append(Typed(row.text, created_at, replies))
        else:
            replies += 1
    return typed[-limit:]


def conversation_locale(store: Store, channel: str, user_id: str) -> str | None:
    """The language the conversation is held in, or None for someone who never wrote."""
    query = select(CONVERSATION.c.locale).where(
        CONVERSATION.c.channel == channel, CONVERSATION.c.user_id == user_id
    )
    with _reading(store) as connection:
        found = connection.execute(query).scalar()
    return None if found is None else str(found)
