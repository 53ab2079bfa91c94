"""What the e-mail and manual providers remember, in a SQLite file of their own: each request
filed under its idempotency key (once), its ticket, whether its mail went out, and the status
and provider's reference an agent set. Several posbot processes share it, a restart forgets
nothing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    Column,
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
DESK = Table(
    "desk_request",
    META,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(64), unique=True, nullable=False),
    Column("ticket", String(32), unique=True),
    Column("desk", String(16), nullable=False),  # email, manual
    Column("kind", String(16), nullable=False),
    Column("merchant_id", String(32), nullable=False),
    Column("serial", String(64), nullable=False),
    Column("state", String(32), nullable=False),
    Column("reason", String(200)),
    Column("reference", String(100)),  # the provider's own number, entered by an agent
    Column("mailed_at", Float),
    Column("created_at", Float, nullable=False),
)


@dataclass(frozen=True, slots=True)
class DeskRequest:
    ticket: str
    desk: str
    kind: str
    merchant_id: str
    serial: str
    state: str
    reason: str | None
    reference: str | None
    mailed: bool


class DeskState:
    def __init__(self, url: str) -> None:
        self.engine: Engine = connect(url, setting="POSBOT_DESK_DATABASE")
        if not inspect(self.engine).has_table(DESK.name):
            with self.engine.begin() as connection:
                META.create_all(connection)

    def file(
        self, key: str, desk: str, kind: str, merchant_id: str, serial: str, now: float
    ) -> DeskRequest:
        """The request filed under ``key``: a new one, or the one filed before."""
        try:
            with self.engine.begin() as tx:
                new_id = tx.execute(
                    insert(DESK)
                    .values(
                        idempotency_key=key,
                        desk=desk,
                        kind=kind,
                        merchant_id=merchant_id,
                        serial=serial,
                        state="submitted",
                        created_at=now,
                    )
                    .returning(DESK.c.id)
                ).scalar_one()
                ticket = f"{desk[:2].upper()}-{new_id:06d}"
                tx.execute(update(DESK).where(DESK.c.id == new_id).values(ticket=ticket))
        except IntegrityError:
            pass  # filed before under the same key
        found = self._one(DESK.c.idempotency_key == key)
        assert found is not None
        return found

    def get(self, ticket: str) -> DeskRequest | None:
        return self._one(DESK.c.ticket == ticket)

    def mailed(self, ticket: str, now: float) -> None:
        with self.engine.begin() as tx:
            tx.execute(update(DESK).where(DESK.c.ticket == ticket).values(mailed_at=now))

    def set(
        self,
        ticket: str,
        state: str,
        *,
        reason: str | None = None,
        reference: str | None = None,
        only_from: str | None = None,
    ) -> DeskRequest | None:
        """An agent moves the request on (and may enter the provider's reference). With
        ``only_from``, only while it is still in that state (two agents at once: the second
        one's move, made on what they saw, is not applied): None when it was not."""
        values: dict[str, object] = {"state": state, "reason": reason}
        if reference is not None:
            values["reference"] = reference
        where = DESK.c.ticket == ticket
        if only_from is not None:
            where &= DESK.c.state == only_from
        with self.engine.begin() as tx:
            moved = tx.execute(update(DESK).where(where).values(**values)).rowcount
        return self.get(ticket) if moved or only_from is None else None

    def _one(self, where: object) -> DeskRequest | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(DESK).where(where)).first()  # type: ignore[arg-type]
        if row is None:
            return None
        return DeskRequest(
            row.ticket,
            row.desk,
            row.kind,
            row.merchant_id,
            row.serial,
            row.state,
            row.reason,
            row.reference,
            row.mailed_at is not None,
        )
