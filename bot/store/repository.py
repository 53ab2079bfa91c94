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

from sqlalchemy import Connection, Engine, delete, func, select, update

from bot.request_states import FINAL_STATES
from bot.store.claims import Claims
from bot.store.database import READ_ONLY
from bot.store.off_loop import OffLoop
from bot.store.people import People
from bot.store.records import Verification, verification_of
from bot.store.tables import (
    CONVERSATION,
    DETAIL_CHECK,
    FLOW_VERSION,
    INBOUND,
    INBOUND_FAILURE,
    OUTBOX,
    REQUEST,
    REQUEST_STATUS,
    TRANSCRIPT,
    VERIFICATION,
)
from bot.store.transaction import OutboxItem, Tx, hot_sql, outbox_item
from bot.validation.masking import mask_merchant_id, mask_serial

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class OpenRequest:
    ticket: str | None  # None while it is being filed
    kind: str
    status: str
    reason: str | None
    channel: str
    user_id: str
    changes: int  # statuses it has had: tells a change apart from the same change seen again


class Store(Claims, People, OffLoop):
    def __init__(
        self, engine: Engine, clock: Clock = utcnow, reply_lease: timedelta | None = None
    ) -> None:
        self.engine = engine
        self.clock = clock
        if reply_lease is not None:
            self.reply_lease = reply_lease

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

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A connection for a few reads: no write lock (on SQLite, a plain BEGIN)."""
        with self.engine.connect() as connection:
            yield connection.execution_options(**{READ_ONLY: True})

    def ping(self) -> None:
        """A cheap read of a real table: raises when the database cannot be reached."""
        with self._read() as connection:
            connection.execute(select(CONVERSATION.c.id).limit(1)).all()

    def pending(
        self, kind: str, *, channel: str | None = None, user_id: str | None = None, limit: int = 100
    ) -> list[OutboxItem]:
        query = select(OUTBOX).where(OUTBOX.c.kind == kind, OUTBOX.c.done_at.is_(None))
        if channel is not None:
            query = query.where(OUTBOX.c.channel == channel)
        if user_id is not None:
            query = query.where(OUTBOX.c.user_id == user_id)
        with self._read() as connection:
            rows = connection.execute(query.order_by(OUTBOX.c.id).limit(limit)).all()
        return [outbox_item(r) for r in rows]

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
        with self._read() as connection:
            row = connection.execute(query).first()
        if row is None:
            return None
        return outbox_item(row)

    def mark_sent(self, sent: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """Replies delivered, each with its receipt — what the platform said of it; under
        ``keyboard`` the id of its message with buttons — in one statement."""
        if sent:
            with self.transaction() as tx:
                tx.cursor.executemany(
                    tx.sql.sent,
                    [
                        (
                            tx.stamp,
                            json.dumps(receipt, ensure_ascii=False),
                            receipt.get("keyboard"),
                            outbox_id,
                        )
                        for outbox_id, receipt in sent
                    ],
                )

    def last_keyboard(self, channel: str, user_id: str) -> int | None:
        """The platform's id of the last message with buttons delivered to that user: a tap
        on any other is on an earlier message. Asked at every tap: one statement on the
        driver's own connection, no transaction around it."""
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(hot_sql(self.engine.dialect.name).last_keyboard, (channel, user_id))
            found = cursor.fetchone()
            cursor.close()
        finally:
            connection.close()  # back to the pool, which rolls back what the driver began
        return None if found is None or found[0] is None else int(found[0])

    def mark_unreachable(self, channel: str, user_id: str) -> None:
        """The platform refuses delivery (the merchant blocked the bot): the conversation says
        so, and what waits for them is set aside until they write again."""
        with self.transaction() as tx:
            tx.connection.execute(
                update(CONVERSATION)
                .where(CONVERSATION.c.channel == channel, CONVERSATION.c.user_id == user_id)
                .values(unreachable_at=tx.now)
            )
            tx.connection.execute(
                update(OUTBOX)
                .where(
                    OUTBOX.c.kind == "message",
                    OUTBOX.c.channel == channel,
                    OUTBOX.c.user_id == user_id,
                    OUTBOX.c.done_at.is_(None),
                )
                .values(done_at=tx.now)
            )

    def unreachable(self, channel: str, user_id: str) -> bool:
        with self._read() as connection:
            return (
                connection.execute(
                    select(CONVERSATION.c.unreachable_at).where(
                        CONVERSATION.c.channel == channel, CONVERSATION.c.user_id == user_id
                    )
                ).scalar()
                is not None
            )

    def mark_done(self, ids: Sequence[int]) -> None:
        if ids:
            with self.transaction() as tx:
                tx.connection.execute(
                    update(OUTBOX).where(OUTBOX.c.id.in_(ids)).values(done_at=tx.now)
                )

    def open_requests(
        self,
        final_states: Sequence[str],
        *,
        channel: str | None = None,
        user_id: str | None = None,
        ticket: str | None = None,
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
        if ticket is not None:
            query = query.where(REQUEST.c.ticket == ticket)
        with self._read() as connection:
            return [OpenRequest(*row) for row in connection.execute(query).all()]

    def claim_key(self, channel: str, key: str) -> bool:
        """Record ``key`` as seen on ``channel`` (a provider's webhook event id); False when it
        was seen before."""
        with self.transaction() as tx:
            return tx.claim(channel, key)

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
        with self._read() as connection:
            return [(row[0], row[1]) for row in connection.execute(query).all()]

    def verification_of(self, merchant_id: str, serial: str) -> Verification:
        """How control of the terminal's phone was last proved, by whom, until when."""
        query = select(VERIFICATION).where(
            VERIFICATION.c.merchant_id == merchant_id, VERIFICATION.c.serial == serial
        )
        with self._read() as connection:
            return verification_of(connection.execute(query).first())

    def requests(self) -> list[dict[str, Any]]:
        with self._read() as connection:
            return [dict(row._mapping) for row in connection.execute(select(REQUEST)).all()]

    def count(self, table: str) -> int:
        target = {t.name: t for t in (CONVERSATION, TRANSCRIPT, INBOUND, REQUEST, OUTBOX)}[table]
        with self._read() as connection:
            return int(connection.execute(select(func.count()).select_from(target)).scalar_one())

    def count_failure(self, channel: str, key: str, user_id: str, error: str, text: str) -> int:
        """One more failed attempt at handling an inbound event; returns how many so far."""
        where = (INBOUND_FAILURE.c.channel == channel, INBOUND_FAILURE.c.key == key)
        with self.transaction() as tx:
            attempts = tx.connection.execute(
                select(INBOUND_FAILURE.c.attempts).where(*where)
            ).scalar()
            if attempts is None:
                tx.connection.execute(
                    INBOUND_FAILURE.insert().values(
                        channel=channel,
                        key=key,
                        user_id=user_id,
                        attempts=1,
                        error=error[:200],
                        text=text,
                        created_at=tx.now,
                    )
                )
                return 1
            tx.connection.execute(
                update(INBOUND_FAILURE).where(*where).values(attempts=attempts + 1, error=error)
            )
            return int(attempts) + 1

    def set_aside(self) -> list[dict[str, Any]]:
        """Inbound events set aside for an operator, newest first."""
        with self._read() as connection:
            rows = connection.execute(
                select(INBOUND_FAILURE)
                .where(INBOUND_FAILURE.c.set_aside_at.is_not(None))
                .order_by(INBOUND_FAILURE.c.set_aside_at.desc())
            ).all()
        return [dict(row._mapping) for row in rows]

    def purge(self, older_than_days: int) -> dict[str, int]:
        """Delete the personal data the retention period no longer allows us to keep, whatever
        state a conversation was left in: transcripts and outboxes of conversations untouched
        for that long; those conversations themselves unless a filed request refers to them,
        in which case they keep nothing that was typed into them; verification records,
        detail-check counts, failed events and dedup keys older than that. A filed request
        that is over keeps its ticket and status history, with its merchant number and serial
        masked."""
        with self.transaction() as tx:
            cutoff = tx.now - timedelta(days=older_than_days)
            old = select(CONVERSATION.c.id).where(CONVERSATION.c.updated_at < cutoff)
            counts = {}
            for table in (TRANSCRIPT, OUTBOX):
                counts[table.name] = tx.connection.execute(
                    delete(table).where(table.c.conversation_id.in_(old))
                ).rowcount
            filed = select(REQUEST.c.conversation_id)
            kept = tx.connection.execute(
                select(CONVERSATION.c.id, CONVERSATION.c.state).where(
                    CONVERSATION.c.id.in_(old), CONVERSATION.c.id.in_(filed)
                )
            ).all()
            for conversation_id, raw in kept:
                state = json.loads(raw)
                state.update(slots={}, entry={}, cursor={}, history=[], retries={}, failures={})
                # over: what it waited for was purged with its outbox; the next message starts anew
                state.update(status="done", awaiting=None, return_to=None)
                tx.connection.execute(
                    update(CONVERSATION)
                    .where(CONVERSATION.c.id == conversation_id)
                    .values(status="done", state=json.dumps(state, ensure_ascii=False))
                )
            counts["scrubbed"] = len(kept)
            counts[CONVERSATION.name] = tx.connection.execute(
                delete(CONVERSATION).where(
                    CONVERSATION.c.id.in_(old), CONVERSATION.c.id.not_in(filed)
                )
            ).rowcount
            over = tx.connection.execute(
                select(REQUEST.c.id, REQUEST.c.merchant_id, REQUEST.c.serial).where(
                    REQUEST.c.updated_at < cutoff,
                    REQUEST.c.status.in_(sorted(FINAL_STATES)),
                    REQUEST.c.merchant_id.not_like("%*%"),
                )
            ).all()
            for request_id, merchant_id, serial in over:
                tx.connection.execute(
                    update(REQUEST)
                    .where(REQUEST.c.id == request_id)
                    .values(merchant_id=mask_merchant_id(merchant_id), serial=mask_serial(serial))
                )
            counts["masked_requests"] = len(over)
            for table, column in (
                (INBOUND, INBOUND.c.created_at),
                (VERIFICATION, VERIFICATION.c.updated_at),
                (DETAIL_CHECK, DETAIL_CHECK.c.window_start),
                (INBOUND_FAILURE, INBOUND_FAILURE.c.created_at),
            ):
                counts[table.name] = tx.connection.execute(
                    delete(table).where(column < cutoff)
                ).rowcount
            return counts
