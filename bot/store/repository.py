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

from sqlalchemy import Connection, CursorResult, Engine, Table, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel

import bot.store.tables  # noqa: F401  (defines the tables on SQLModel.metadata)

_TABLES = SQLModel.metadata.tables
CONVERSATION: Table = _TABLES["conversation"]
TRANSCRIPT: Table = _TABLES["transcript"]
INBOUND: Table = _TABLES["inboundkey"]
REQUEST: Table = _TABLES["request"]
REQUEST_STATUS: Table = _TABLES["requeststatus"]
OUTBOX: Table = _TABLES["outbox"]
FLOW_VERSION: Table = _TABLES["flowversion"]
VERIFICATION: Table = _TABLES["verification"]

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    conversation_id: int
    kind: str
    channel: str
    user_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OpenRequest:
    ticket: str
    kind: str
    status: str
    reason: str | None
    channel: str
    user_id: str


@dataclass(frozen=True, slots=True)
class Verification:
    failures: int = 0
    locked_until: datetime | None = None
    verified_until: datetime | None = None


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands datetimes back without their zone; we only ever store UTC
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


class Tx:
    """What one event may change, inside its transaction."""

    def __init__(self, connection: Connection, now: datetime) -> None:
        self.connection = connection
        self.now = now

    def _insert_ignore(self, table: Table, values: dict[str, Any]) -> bool:
        dialect = self.connection.dialect.name
        module: Any = postgresql if dialect == "postgresql" else sqlite
        statement = module.insert(table).values(**values).on_conflict_do_nothing()
        return bool(self.connection.execute(statement).rowcount)

    def claim(self, channel: str, key: str) -> bool:
        """Record an inbound event's dedup key; False when it was seen before."""
        return self._insert_ignore(
            INBOUND, {"channel": channel, "key": key, "created_at": self.now}
        )

    def load(self, channel: str, user_id: str) -> tuple[int, str] | None:
        query = select(CONVERSATION.c.id, CONVERSATION.c.state).where(
            CONVERSATION.c.channel == channel, CONVERSATION.c.user_id == user_id
        )
        if self.connection.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return None if row is None else (row[0], row[1])

    def save(
        self,
        conversation_id: int | None,
        channel: str,
        user_id: str,
        *,
        locale: str,
        flow: str,
        flow_version: str,
        step: str,
        status: str,
        state: str,
    ) -> int:
        values = {
            "locale": locale,
            "flow": flow,
            "flow_version": flow_version,
            "step": step,
            "status": status,
            "state": state,
            "updated_at": self.now,
        }
        if conversation_id is not None:
            self.connection.execute(
                update(CONVERSATION).where(CONVERSATION.c.id == conversation_id).values(**values)
            )
            return conversation_id
        result = self.connection.execute(
            insert(CONVERSATION).values(
                channel=channel, user_id=user_id, created_at=self.now, **values
            )
        )
        return _new_id(result)

    def add_transcript(self, conversation_id: int, rows: Sequence[tuple[str, str]]) -> None:
        if rows:
            self.connection.execute(
                insert(TRANSCRIPT),
                [
                    {
                        "conversation_id": conversation_id,
                        "direction": direction,
                        "text": text,
                        "created_at": self.now,
                    }
                    for direction, text in rows
                ],
            )

    def enqueue(
        self,
        conversation_id: int,
        channel: str,
        user_id: str,
        items: Sequence[tuple[str, dict[str, Any]]],
    ) -> None:
        if items:
            self.connection.execute(
                insert(OUTBOX),
                [
                    {
                        "conversation_id": conversation_id,
                        "kind": kind,
                        "channel": channel,
                        "user_id": user_id,
                        "payload": json.dumps(payload, ensure_ascii=False),
                        "created_at": self.now,
                        "attempts": 0,
                    }
                    for kind, payload in items
                ],
            )

    def finish(self, outbox_id: int) -> None:
        """Mark an outbox row done; an effect's secret params (one-time codes) are wiped."""
        raw = self.connection.execute(
            select(OUTBOX.c.payload).where(OUTBOX.c.id == outbox_id)
        ).scalar()
        values: dict[str, Any] = {"done_at": self.now}
        payload = json.loads(raw) if raw else {}
        if payload.get("secret"):
            params = payload.get("params", {})
            payload["params"] = {
                k: ("[removed]" if k in payload["secret"] else v) for k, v in params.items()
            }
            values["payload"] = json.dumps(payload, ensure_ascii=False)
        self.connection.execute(update(OUTBOX).where(OUTBOX.c.id == outbox_id).values(**values))

    def flow_source(self, flow: str, version: str) -> str | None:
        return self.connection.execute(
            select(FLOW_VERSION.c.source).where(
                FLOW_VERSION.c.flow == flow, FLOW_VERSION.c.version == version
            )
        ).scalar()

    def record_filing(
        self,
        conversation_id: int,
        *,
        idempotency_key: str,
        provider: str,
        kind: str,
        merchant_id: str,
        serial: str,
        ticket: str,
        status: str,
    ) -> None:
        existing = self.connection.execute(
            select(REQUEST.c.id).where(REQUEST.c.idempotency_key == idempotency_key)
        ).scalar()
        if existing is not None:
            return
        result = self.connection.execute(
            insert(REQUEST).values(
                conversation_id=conversation_id,
                idempotency_key=idempotency_key,
                provider=provider,
                kind=kind,
                merchant_id=merchant_id,
                serial=serial,
                ticket=ticket,
                status=status,
                created_at=self.now,
                updated_at=self.now,
            )
        )
        self.connection.execute(
            insert(REQUEST_STATUS).values(
                request_id=_new_id(result),
                status=status,
                created_at=self.now,
            )
        )

    def filed(self, idempotency_key: str) -> tuple[str, str] | None:
        """(ticket, status) of the request filed under ``idempotency_key``, if any."""
        row = self.connection.execute(
            select(REQUEST.c.ticket, REQUEST.c.status).where(
                REQUEST.c.idempotency_key == idempotency_key
            )
        ).first()
        return None if row is None else (row[0], row[1])

    def record_status(self, ticket: str, status: str, reason: str | None) -> bool:
        """Move a request to ``status``; False when it already was there."""
        row = self.connection.execute(
            select(REQUEST.c.id, REQUEST.c.status, REQUEST.c.reason).where(
                REQUEST.c.ticket == ticket
            )
        ).first()
        if row is None or (row.status, row.reason) == (status, reason):
            return False
        self.connection.execute(
            update(REQUEST)
            .where(REQUEST.c.id == row.id)
            .values(status=status, reason=reason, updated_at=self.now)
        )
        self.connection.execute(
            insert(REQUEST_STATUS).values(
                request_id=row.id, status=status, reason=reason, created_at=self.now
            )
        )
        return True

    def verification(self, merchant_id: str, serial: str) -> Verification:
        row = self.connection.execute(
            select(VERIFICATION).where(
                VERIFICATION.c.merchant_id == merchant_id, VERIFICATION.c.serial == serial
            )
        ).first()
        if row is None:
            return Verification()
        return Verification(row.failures, _aware(row.locked_until), _aware(row.verified_until))

    def set_verification(self, merchant_id: str, serial: str, record: Verification) -> None:
        self.connection.execute(
            delete(VERIFICATION).where(
                VERIFICATION.c.merchant_id == merchant_id, VERIFICATION.c.serial == serial
            )
        )
        self.connection.execute(
            insert(VERIFICATION).values(
                merchant_id=merchant_id,
                serial=serial,
                failures=record.failures,
                locked_until=record.locked_until,
                verified_until=record.verified_until,
                updated_at=self.now,
            )
        )


class Store:
    def __init__(self, engine: Engine, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.clock = clock

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.engine.begin() as connection:
            yield Tx(connection, self.clock())

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

    def mark_done(self, ids: Sequence[int]) -> None:
        if ids:
            with self.transaction() as tx:
                tx.connection.execute(
                    update(OUTBOX).where(OUTBOX.c.id.in_(ids)).values(done_at=tx.now)
                )

    def open_requests(self, final_states: Sequence[str]) -> list[OpenRequest]:
        query = (
            select(
                REQUEST.c.ticket,
                REQUEST.c.kind,
                REQUEST.c.status,
                REQUEST.c.reason,
                CONVERSATION.c.channel,
                CONVERSATION.c.user_id,
            )
            .join(CONVERSATION, CONVERSATION.c.id == REQUEST.c.conversation_id)
            .where(REQUEST.c.status.not_in(final_states))
        )
        with self.engine.connect() as connection:
            return [OpenRequest(*row) for row in connection.execute(query).all()]

    def save_flow_versions(self, flows: Sequence[tuple[str, str, str]]) -> None:
        with self.transaction() as tx:
            for flow, version, source in flows:
                tx._insert_ignore(
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
        """Delete what the retention period no longer allows us to keep."""
        with self.transaction() as tx:
            cutoff = tx.now - timedelta(days=older_than_days)
            old = select(CONVERSATION.c.id).where(
                CONVERSATION.c.updated_at < cutoff, CONVERSATION.c.status == "done"
            )
            counts = {}
            for table in (TRANSCRIPT, OUTBOX):
                counts[table.name] = tx.connection.execute(
                    delete(table).where(table.c.conversation_id.in_(old))
                ).rowcount
            counts[INBOUND.name] = tx.connection.execute(
                delete(INBOUND).where(INBOUND.c.created_at < cutoff)
            ).rowcount
            return counts
