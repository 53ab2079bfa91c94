"""What the sandbox provider remembers, in a SQLite file of its own: filed requests, their ticket
numbers and one-time codes. Several posbot processes pointed at the same file see one provider,
as they would a real one: a ticket number is issued once, a code sent by one process can be
checked by another, and a restart forgets nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from bot.store.database import connect

META = MetaData()
REQUESTS = Table(
    "sandbox_request",
    META,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket", String(32), unique=True),
    Column("idempotency_key", String(64), unique=True, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("serial", String(64), nullable=False, index=True),
    Column("submitted_at", Float, nullable=False),
    Column("final_state", String(32)),
    Column("final_reason", String(200)),
)
CODES = Table(
    "sandbox_code",
    META,
    Column("serial", String(64), primary_key=True),
    Column("code", String(16), nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("consumed", Integer, nullable=False, default=0),
    Column("consumed_by", String(64)),  # the check that used it, which may ask again
)


@dataclass(slots=True)
class StoredRequest:
    ticket: str
    kind: str
    serial: str
    submitted_at: float
    final_state: str | None
    final_reason: str | None


@dataclass(frozen=True, slots=True)
class StoredCode:
    code: str
    expires_at: float
    consumed: bool
    consumed_by: str | None


def _row(row: object) -> StoredRequest:
    return StoredRequest(
        row.ticket,  # type: ignore[attr-defined]
        row.kind,  # type: ignore[attr-defined]
        row.serial,  # type: ignore[attr-defined]
        row.submitted_at,  # type: ignore[attr-defined]
        row.final_state,  # type: ignore[attr-defined]
        row.final_reason,  # type: ignore[attr-defined]
    )


class MemoryState:
    """The same, in this process's memory alone: for benchmarks and unit tests, where the
    sandbox must cost next to nothing."""

    def __init__(self) -> None:
        self._requests: dict[str, StoredRequest] = {}
        self._keys: dict[str, str] = {}
        self._by_serial: dict[str, str] = {}  # serial → its latest ticket
        self._codes: dict[str, StoredCode] = {}

    def file(self, key: str, kind: str, serial: str, now: float, year: int, first: int) -> str:
        if key in self._keys:
            return self._keys[key]
        ticket = f"SBX-{year}-{len(self._requests) + first:06d}"
        self._requests[ticket] = StoredRequest(ticket, kind, serial, now, None, None)
        self._keys[key] = self._by_serial[serial] = ticket
        return ticket

    def ticket_for(self, key: str) -> str | None:
        return self._keys.get(key)

    def request(self, ticket: str) -> StoredRequest | None:
        found = self._requests.get(ticket)
        return None if found is None else replace(found)

    def latest_for(self, serial: str) -> StoredRequest | None:
        ticket = self._by_serial.get(serial)
        return None if ticket is None else self.request(ticket)

    def finish(self, ticket: str, state: str, reason: str | None) -> None:
        found = self._requests[ticket]
        if found.final_state is None:
            found.final_state, found.final_reason = state, reason

    def count(self) -> int:
        return len(self._requests)

    def shift(self, ticket: str, seconds: float) -> None:
        self._requests[ticket].submitted_at -= seconds

    def put_code(self, serial: str, code: str, expires_at: float) -> None:
        self._codes[serial] = StoredCode(code, expires_at, False, None)

    def code(self, serial: str) -> StoredCode | None:
        return self._codes.get(serial)

    def consume(self, serial: str, key: str | None) -> None:
        self._codes[serial] = replace(self._codes[serial], consumed=True, consumed_by=key)

    def drop_code(self, serial: str) -> None:
        self._codes.pop(serial, None)


class SandboxState:
    """The sandbox's tables in a SQLite file, shared by every process pointed at it."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = connect(
            url, sqlite_synchronous="NORMAL", setting="POSBOT_SANDBOX_DATABASE"
        )
        if not inspect(self.engine).has_table(CODES.name):  # the first start creates them
            with self.engine.begin() as connection:  # BEGIN IMMEDIATE: one process at a time
                META.create_all(connection)

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    def file(self, key: str, kind: str, serial: str, now: float, year: int, first: int) -> str:
        """The ticket of the request filed under ``key``: a new one, numbered by the database,
        or the one already filed under that key (by this process or another)."""
        try:
            with self._tx() as tx:
                new_id = tx.execute(
                    insert(REQUESTS)
                    .values(idempotency_key=key, kind=kind, serial=serial, submitted_at=now)
                    .returning(REQUESTS.c.id)
                ).scalar_one()
                ticket = f"SBX-{year}-{new_id + first - 1:06d}"
                tx.execute(update(REQUESTS).where(REQUESTS.c.id == new_id).values(ticket=ticket))
                return ticket
        except IntegrityError:  # filed meanwhile under the same key
            found = self.ticket_for(key)
            assert found is not None
            return found

    def ticket_for(self, key: str) -> str | None:
        with self._tx() as tx:
            return tx.execute(
                select(REQUESTS.c.ticket).where(REQUESTS.c.idempotency_key == key)
            ).scalar()

    def request(self, ticket: str) -> StoredRequest | None:
        with self._tx() as tx:
            row = tx.execute(select(REQUESTS).where(REQUESTS.c.ticket == ticket)).first()
        return None if row is None else _row(row)

    def latest_for(self, serial: str) -> StoredRequest | None:
        with self._tx() as tx:
            row = tx.execute(
                select(REQUESTS).where(REQUESTS.c.serial == serial).order_by(REQUESTS.c.id.desc())
            ).first()
        return None if row is None else _row(row)

    def finish(self, ticket: str, state: str, reason: str | None) -> None:
        with self._tx() as tx:
            tx.execute(
                update(REQUESTS)
                .where(REQUESTS.c.ticket == ticket, REQUESTS.c.final_state.is_(None))
                .values(final_state=state, final_reason=reason)
            )

    def count(self) -> int:
        with self._tx() as tx:
            return len(tx.execute(select(REQUESTS.c.id)).all())

    def shift(self, ticket: str, seconds: float) -> None:
        """Review of ``ticket`` as if it had been filed ``seconds`` earlier (tests step it)."""
        with self._tx() as tx:
            tx.execute(
                update(REQUESTS)
                .where(REQUESTS.c.ticket == ticket)
                .values(submitted_at=REQUESTS.c.submitted_at - seconds)
            )

    # -- codes ---------------------------------------------------------------------------------

    def put_code(self, serial: str, code: str, expires_at: float) -> None:
        with self._tx() as tx:
            tx.execute(CODES.delete().where(CODES.c.serial == serial))
            tx.execute(insert(CODES).values(serial=serial, code=code, expires_at=expires_at))

    def code(self, serial: str) -> StoredCode | None:
        with self._tx() as tx:
            row = tx.execute(select(CODES).where(CODES.c.serial == serial)).first()
        if row is None:
            return None
        return StoredCode(row.code, row.expires_at, bool(row.consumed), row.consumed_by)

    def consume(self, serial: str, key: str | None) -> None:
        with self._tx() as tx:
            tx.execute(
                update(CODES).where(CODES.c.serial == serial).values(consumed=1, consumed_by=key)
            )

    def drop_code(self, serial: str) -> None:
        with self._tx() as tx:
            tx.execute(CODES.delete().where(CODES.c.serial == serial))
