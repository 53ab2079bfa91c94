"""What an event's transaction records beside the conversation: filings and their statuses,
phone verification and its lock, limits on guessing, events set aside, flow versions. Written
with SQLAlchemy Core on the transaction's connection; the hot statements are in ``Tx``."""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class Verification:
    failures: int = 0
    locked_until: datetime | None = None
    verified_until: datetime | None = None
    verified_for: str | None = None  # the conversation that proved control
    method: str | None = None  # how: "otp", or "telegram_contact" (a contact the platform vouched)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands datetimes back without their zone; we only ever store UTC
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def verification_of(row: Any) -> Verification:
    """A verification table row (or None: no record) as a Verification."""
    if row is None:
        return Verification()
    return Verification(
        row.failures,
        _aware(row.locked_until),
        _aware(row.verified_until),
        row.verified_for,
        row.method,
    )


class Records:
    connection: Connection
    now: datetime

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

    def verification(
        self, merchant_id: str, serial: str, *, for_update: bool = False
    ) -> Verification:
        """The terminal's verification record; ``for_update`` holds it until the commit, so
        concurrent transactions (PostgreSQL) count attempts one after the other — on SQLite
        the transaction's BEGIN IMMEDIATE already does."""
        query = select(VERIFICATION).where(
            VERIFICATION.c.merchant_id == merchant_id, VERIFICATION.c.serial == serial
        )
        if for_update and self.connection.dialect.name == "postgresql":
            # the row must exist to be locked: a first attempt creates it
            self.insert_ignore(
                VERIFICATION,
                {"merchant_id": merchant_id, "serial": serial, "updated_at": self.now},
            )
            query = query.with_for_update()
        return verification_of(self.connection.execute(query).first())

    def set_verification(self, merchant_id: str, serial: str, record: Verification) -> None:
        """Replace the record in place (a row another transaction waits to lock stays the
        same row)."""
        values = {
            "failures": record.failures,
            "locked_until": record.locked_until,
            "verified_until": record.verified_until,
            "verified_for": record.verified_for,
            "method": record.method,
            "updated_at": self.now,
        }
        changed = self.connection.execute(
            update(VERIFICATION)
            .where(VERIFICATION.c.merchant_id == merchant_id, VERIFICATION.c.serial == serial)
            .values(**values)
        ).rowcount
        if not changed:
            self.connection.execute(
                insert(VERIFICATION).values(merchant_id=merchant_id, serial=serial, **values)
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
