"""One event's transaction: its dedup key, the conversation's state, the transcript and the
outbox rows commit together.

The statements every inbound event runs (claim, load, save, transcript, outbox) go straight to
the database driver with SQL written once per dialect: building and compiling SQLAlchemy
statements cost more than all the engine's own work (see bench/). Everything else uses
SQLAlchemy Core on the same connection, inside the same transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.request_states import FILING, FINAL_STATES
from bot.store.tables import (
    CONVERSATION,
    DETAIL_CHECK,
    FLOW_VERSION,
    INBOUND_FAILURE,
    REQUEST,
    REQUEST_STATUS,
    VERIFICATION,
)

SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores datetimes in SQLite (UTC)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    conversation_id: int
    kind: str  # message | effect
    channel: str
    user_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Verification:
    failures: int = 0
    locked_until: datetime | None = None
    verified_until: datetime | None = None
    verified_for: str | None = None  # the conversation that checked the code


class HotSql:
    """The hot statements in the driver's own parameter style."""

    def __init__(self, dialect: str) -> None:
        postgres = dialect == "postgresql"

        def q(sql: str) -> str:
            return sql.replace("?", "%s") if postgres else sql

        self.claim = q(
            "INSERT INTO inboundkey (channel, key, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING"
        )
        self.load = q("SELECT id, state FROM conversation WHERE channel = ? AND user_id = ?")
        if postgres:
            self.load += " FOR UPDATE"  # one event of a conversation at a time, across processes
        self.update = q(
            "UPDATE conversation SET locale = ?, flow = ?, flow_version = ?, step = ?, "
            "status = ?, state = ?, updated_at = ? WHERE id = ?"
        )
        self.insert = q(
            "INSERT INTO conversation (channel, user_id, locale, flow, flow_version, step, "
            "status, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id"
        )
        self.transcript = q(
            "INSERT INTO transcript (conversation_id, direction, text, created_at) "
            "VALUES (?, ?, ?, ?)"
        )
        # an effect to run at once is claimed by the process that commits it (a lease)
        self.outbox = q(
            "INSERT INTO outbox (conversation_id, kind, channel, user_id, payload, created_at, "
            "attempts, claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
        )
        self.outbox_payload = q("SELECT payload FROM outbox WHERE id = ?")
        self.finish = q("UPDATE outbox SET done_at = ?, payload = ? WHERE id = ?")


_HOT: dict[str, HotSql] = {}


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands datetimes back without their zone; we only ever store UTC
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


class Tx:
    """What one event may change, inside its transaction."""

    def __init__(self, connection: Connection, now: datetime) -> None:
        self.connection = connection
        self.now = now
        dialect = connection.dialect.name
        self.sql = _HOT.get(dialect) or _HOT.setdefault(dialect, HotSql(dialect))
        self.cursor = connection.connection.cursor()
        utc = now.astimezone(UTC)
        self.stamp: Any = utc if dialect == "postgresql" else utc.strftime(SQLITE_TIME)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo everything inside on an exception, and only that."""
        self.cursor.execute("SAVEPOINT event")
        try:
            yield
        except BaseException:
            self.cursor.execute("ROLLBACK TO SAVEPOINT event")
            self.cursor.execute("RELEASE SAVEPOINT event")
            raise
        self.cursor.execute("RELEASE SAVEPOINT event")

    # -- the hot path: every inbound event ---------------------------------------------------

    def claim(self, channel: str, key: str) -> bool:
        """Record an inbound event's dedup key; False when it was seen before."""
        self.cursor.execute(self.sql.claim, (channel, key, self.stamp))
        return bool(self.cursor.rowcount)

    def load(self, channel: str, user_id: str) -> tuple[int, str] | None:
        self.cursor.execute(self.sql.load, (channel, user_id))
        row = self.cursor.fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

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
        if conversation_id is not None:
            self.cursor.execute(
                self.sql.update,
                (locale, flow, flow_version, step, status, state, self.stamp, conversation_id),
            )
            return conversation_id
        self.cursor.execute(
            self.sql.insert,
            (
                channel,
                user_id,
                locale,
                flow,
                flow_version,
                step,
                status,
                state,
                self.stamp,
                self.stamp,
            ),
        )
        return self._returned_id()

    def add_transcript(self, conversation_id: int, rows: Sequence[tuple[str, str]]) -> None:
        if rows:
            self.cursor.executemany(
                self.sql.transcript,
                [(conversation_id, direction, text, self.stamp) for direction, text in rows],
            )

    def enqueue(
        self,
        conversation_id: int,
        channel: str,
        user_id: str,
        items: Sequence[tuple[str, dict[str, Any]]],
    ) -> list[OutboxItem]:
        queued = []
        for kind, payload in items:
            raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
            now = kind == "effect" and "not_before" not in payload  # run by this process now
            self.cursor.execute(
                self.sql.outbox,
                (
                    conversation_id,
                    kind,
                    channel,
                    user_id,
                    raw,
                    self.stamp,
                    int(now),
                    self.stamp if now else None,
                ),
            )
            queued.append(
                OutboxItem(self._returned_id(), conversation_id, kind, channel, user_id, payload)
            )
        return queued

    def _returned_id(self) -> int:
        row = self.cursor.fetchone()
        assert row is not None, "INSERT ... RETURNING returned nothing"
        return int(row[0])

    def finish(self, outbox_id: int) -> dict[str, Any]:
        """Mark an outbox row done; an effect's secret params (one-time codes) are wiped.
        Returns its payload, as it is now stored."""
        self.cursor.execute(self.sql.outbox_payload, (outbox_id,))
        row = self.cursor.fetchone()
        payload = json.loads(row[0]) if row else {}
        if payload.get("secret"):
            secret = set(payload["secret"])
            payload["params"] = {
                k: ("[removed]" if k in secret else v) for k, v in payload.get("params", {}).items()
            }
        raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        self.cursor.execute(self.sql.finish, (self.stamp, raw, outbox_id))
        return payload

    # -- the rest: filings, statuses, verification, flow versions ----------------------------

    def insert_ignore(self, table: Table, values: dict[str, Any]) -> bool:
        module: Any = postgresql if self.connection.dialect.name == "postgresql" else sqlite
        statement = module.insert(table).values(**values).on_conflict_do_nothing()
        return bool(self.connection.execute(statement).rowcount)

    def conversation_locale(self, channel: str, user_id: str) -> tuple[int, str] | None:
        """(id, locale) of a conversation, read without its state."""
        row = self.connection.execute(
            select(CONVERSATION.c.id, CONVERSATION.c.locale).where(
                CONVERSATION.c.channel == channel, CONVERSATION.c.user_id == user_id
            )
        ).first()
        return None if row is None else (int(row[0]), str(row[1]))

    def mark_set_aside(self, channel: str, key: str) -> None:
        self.connection.execute(
            update(INBOUND_FAILURE)
            .where(INBOUND_FAILURE.c.channel == channel, INBOUND_FAILURE.c.key == key)
            .values(set_aside_at=self.now)
        )

    def flow_source(self, flow: str, version: str) -> str | None:
        return self.connection.execute(
            select(FLOW_VERSION.c.source).where(
                FLOW_VERSION.c.flow == flow, FLOW_VERSION.c.version == version
            )
        ).scalar()

    def start_filing(
        self,
        conversation_id: int,
        *,
        idempotency_key: str,
        provider: str,
        kind: str,
        merchant_id: str,
        serial: str,
    ) -> None:
        """Record a request before it is asked of the provider: once started, a filing is
        finished — after a crash, however late — and the terminal counts as taken."""
        self.connection.execute(
            insert(REQUEST).values(
                conversation_id=conversation_id,
                idempotency_key=idempotency_key,
                provider=provider,
                kind=kind,
                merchant_id=merchant_id,
                serial=serial,
                ticket=None,
                status=FILING,
                created_at=self.now,
                updated_at=self.now,
            )
        )

    def drop_filing(self, idempotency_key: str) -> None:
        """The provider refused it: nothing was filed."""
        self.connection.execute(
            delete(REQUEST).where(
                REQUEST.c.idempotency_key == idempotency_key, REQUEST.c.ticket.is_(None)
            )
        )

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
        """The provider's answer: the started request gets its ticket (or, filed without
        being started, is recorded now)."""
        found = self.filed(idempotency_key)
        if found is not None and found[0] is not None:
            return
        if found is None:
            self.start_filing(
                conversation_id,
                idempotency_key=idempotency_key,
                provider=provider,
                kind=kind,
                merchant_id=merchant_id,
                serial=serial,
            )
        request_id = self.connection.execute(
            update(REQUEST)
            .where(REQUEST.c.idempotency_key == idempotency_key)
            .values(ticket=ticket, status=status, updated_at=self.now)
            .returning(REQUEST.c.id)
        ).scalar_one()
        self.connection.execute(
            insert(REQUEST_STATUS).values(request_id=request_id, status=status, created_at=self.now)
        )

    def filed(self, idempotency_key: str) -> tuple[str | None, str] | None:
        """(ticket, status) of the request under ``idempotency_key``, if any; the ticket is
        None while it is being filed."""
        row = self.connection.execute(
            select(REQUEST.c.ticket, REQUEST.c.status).where(
                REQUEST.c.idempotency_key == idempotency_key
            )
        ).first()
        return None if row is None else (row[0], row[1])

    def open_request_for(self, merchant_id: str, serial: str) -> tuple[str | None] | None:
        """(ticket,) of a request for that terminal that is not over yet, if any (the ticket
        is None while it is being filed)."""
        row = self.connection.execute(
            select(REQUEST.c.ticket)
            .where(
                REQUEST.c.merchant_id == merchant_id,
                REQUEST.c.serial == serial,
                REQUEST.c.status.not_in(sorted(FINAL_STATES)),
            )
            .limit(1)
        ).first()
        return None if row is None else (row[0],)

    def record_status(self, ticket: str, status: str, reason: str | None) -> bool:
        """Move a request to ``status``; False when it already was there."""
        row = self.connection.execute(
            select(REQUEST.c.id, REQUEST.c.status, REQUEST.c.reason).where(
                REQUEST.c.ticket == ticket
            )
        ).first()
        if row is None or (row.status, row.reason) == (status, reason):
            return False
        if row.status in FINAL_STATES:
            return False  # a final state is final: a late or repeated answer never reopens it
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
        return Verification(
            row.failures,
            _aware(row.locked_until),
            _aware(row.verified_until),
            row.verified_for,
        )

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
                verified_for=record.verified_for,
                updated_at=self.now,
            )
        )

    # -- limits on guessing ----------------------------------------------------------------------

    def _detail_window(self, scope: str, key: str, window: timedelta) -> tuple[int, datetime]:
        row = self.connection.execute(
            select(DETAIL_CHECK.c.failures, DETAIL_CHECK.c.window_start).where(
                DETAIL_CHECK.c.scope == scope, DETAIL_CHECK.c.key == key
            )
        ).first()
        start = None if row is None else _aware(row.window_start)
        if row is None or start is None or start + window <= self.now:
            return 0, self.now  # no failures, or only in a window that is over
        return int(row.failures), start

    def detail_failures(self, scope: str, key: str, window: timedelta) -> int:
        """Failed detail checks of ``key`` in the current window."""
        return self._detail_window(scope, key, window)[0]

    def add_detail_failure(self, scope: str, key: str, window: timedelta) -> int:
        failures, start = self._detail_window(scope, key, window)
        self.connection.execute(
            delete(DETAIL_CHECK).where(DETAIL_CHECK.c.scope == scope, DETAIL_CHECK.c.key == key)
        )
        self.connection.execute(
            insert(DETAIL_CHECK).values(
                scope=scope, key=key, failures=failures + 1, window_start=start
            )
        )
        return failures + 1
