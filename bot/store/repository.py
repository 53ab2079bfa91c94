"""The repository: every read and write posbot makes, and the only place that writes SQL.

``Store.transaction()`` opens one transaction (BEGIN IMMEDIATE on SQLite, row locks on
PostgreSQL) in which an event's dedup key, state, transcript and outbox rows commit together."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, select, update

from bot.store.database import READ_ONLY
from bot.store.tables import (
    CONVERSATION,
    FLOW_VERSION,
    INBOUND,
    OUTBOX,
    REQUEST,
    REQUEST_STATUS,
    TRANSCRIPT,
)
from bot.store.transaction import OutboxItem, Tx

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class OpenRequest:
    ticket: str
    kind: str
    status: str
    reason: str | None
    channel: str
    user_id: str
    changes: int  # statuses it has had: tells a change apart from the same change seen again


class Store:
    def __init__(self, engine: Engine, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.clock = clock

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.engine.begin() as connection:
            yield Tx(connection, self.clock())

    @contextmanager
    def reading(self) -> Iterator[Tx]:
        """A transaction for reads only: no write lock, nothing to commit."""
        with self.engine.connect() as connection:
            connection = connection.execution_options(**{READ_ONLY: True})
            try:
                yield Tx(connection, self.clock())
            finally:
                connection.rollback()

    def pending(
        self, kind: str, *, channel: str | None = None, user_id: str | None = None, limit: int = 100
    ) -> list[OutboxItem]:
        query = select(OUTBOX).where(OUTBOX.c.kind == kind, OUTBOX.c.done_at.is_(None))
        if channel is not None:
            query = query.where(OUTBOX.c.channel == channel)
        if user_id is not None:
            query = query.where(OUTBOX.c.user_id == user_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(OUTBOX.c.id).limit(limit)).all()
        return [
            OutboxItem(r.id, r.conversation_id, r.kind, r.channel, r.user_id, json.loads(r.payload))
            for r in rows
        ]

    def last_message(self, channel: str, user_id: str) -> OutboxItem | None:
        """The latest reply to that user, delivered or not."""
        query = (
            select(OUTBOX)
            .where(
                OUTBOX.c.kind == "message",
                OUTBOX.c.channel == channel,
                OUTBOX.c.user_id == user_id,
            )
            .order_by(OUTBOX.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            return None
        return OutboxItem(
            row.id, row.conversation_id, row.kind, row.channel, row.user_id, json.loads(row.payload)
        )

    def mark_done(self, ids: Sequence[int]) -> None:
        if ids:
            with self.transaction() as tx:
                tx.connection.execute(
                    update(OUTBOX).where(OUTBOX.c.id.in_(ids)).values(done_at=tx.now)
                )

    def open_requests(
        self, final_states: Sequence[str], *, channel: str | None = None, user_id: str | None = None
    ) -> list[OpenRequest]:
        query = (
            select(
                REQUEST.c.ticket,
                REQUEST.c.kind,
                REQUEST.c.status,
                REQUEST.c.reason,
                CONVERSATION.c.channel,
                CONVERSATION.c.user_id,
                select(func.count())
                .where(REQUEST_STATUS.c.request_id == REQUEST.c.id)
                .scalar_subquery(),
            )
            .join(CONVERSATION, CONVERSATION.c.id == REQUEST.c.conversation_id)
            .where(REQUEST.c.status.not_in(final_states))
        )
        if channel is not None:
            query = query.where(CONVERSATION.c.channel == channel)
        if user_id is not None:
            query = query.where(CONVERSATION.c.user_id == user_id)
        with self.engine.connect() as connection:
            return [OpenRequest(*row) for row in connection.execute(query).all()]

    def save_flow_versions(self, flows: Sequence[tuple[str, str, str]]) -> None:
        with self.transaction() as tx:
            for flow, version, source in flows:
                tx.insert_ignore(
                    FLOW_VERSION,
                    {"flow": flow, "version": version, "source": source, "created_at": tx.now},
                )

    def transcript(self, channel: str, user_id: str) -> list[tuple[str, str]]:
        query = (
            select(TRANSCRIPT.c.direction, TRANSCRIPT.c.text)
            .join(CONVERSATION, CONVERSATION.c.id == TRANSCRIPT.c.conversation_id)
            .where(CONVERSATION.c.channel == channel, CONVERSATION.c.user_id == user_id)
            .order_by(TRANSCRIPT.c.id)
        )
        with self.engine.connect() as connection:
            return [(row[0], row[1]) for row in connection.execute(query).all()]

    def requests(self) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(select(REQUEST)).all()]

    def count(self, table: str) -> int:
        target = {t.name: t for t in (CONVERSATION, TRANSCRIPT, INBOUND, REQUEST, OUTBOX)}[table]
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(target)).scalar_one())

    def purge(self, older_than_days: int) -> dict[str, int]:
        """Delete what the retention period no longer allows us to keep: the transcripts and
        outboxes of conversations untouched for that long, those conversations themselves
        (slots hold phone and merchant numbers) unless a filed request still refers to them,
        and old dedup keys. Filed requests stay: they are the merchant's record."""
        with self.transaction() as tx:
            cutoff = tx.now - timedelta(days=older_than_days)
            old = select(CONVERSATION.c.id).where(CONVERSATION.c.updated_at < cutoff)
            counts = {}
            for table in (TRANSCRIPT, OUTBOX):
                counts[table.name] = tx.connection.execute(
                    delete(table).where(table.c.conversation_id.in_(old))
                ).rowcount
            filed = select(REQUEST.c.conversation_id)
            # a conversation kept for its request keeps the request, not what was typed into it
            finished = tx.connection.execute(
                select(CONVERSATION.c.id, CONVERSATION.c.state).where(
                    CONVERSATION.c.id.in_(old),
                    CONVERSATION.c.id.in_(filed),
                    CONVERSATION.c.status == "done",
                )
            ).all()
            for conversation_id, raw in finished:
                state = json.loads(raw)
                state.update(slots={}, entry={}, cursor={}, history=[], retries={}, failures={})
                tx.connection.execute(
                    update(CONVERSATION)
                    .where(CONVERSATION.c.id == conversation_id)
                    .values(state=json.dumps(state, ensure_ascii=False))
                )
            counts["scrubbed"] = len(finished)
            counts[CONVERSATION.name] = tx.connection.execute(
                delete(CONVERSATION).where(
                    CONVERSATION.c.id.in_(old), CONVERSATION.c.id.not_in(filed)
                )
            ).rowcount
            counts[INBOUND.name] = tx.connection.execute(
                delete(INBOUND).where(INBOUND.c.created_at < cutoff)
            ).rowcount
            return counts
