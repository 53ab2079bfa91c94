"""Hand-offs to a person and the audit log, written in the events' own transactions (a mixin
of ``Tx``, like ``Records``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from bot.store.tables import AUDIT, HANDOFF


class HandoffRecords:
    connection: Connection
    now: datetime

    def open_handoff(
        self, conversation_id: int, *, for_update: bool = False
    ) -> dict[str, Any] | None:
        """The conversation's hand-off that is not over, if any (``for_update`` holds it until
        the commit on PostgreSQL; SQLite's BEGIN IMMEDIATE already does)."""
        query = (
            select(HANDOFF)
            .where(HANDOFF.c.conversation_id == conversation_id, HANDOFF.c.closed_at.is_(None))
            .order_by(HANDOFF.c.id.desc())
            .limit(1)
        )
        if for_update and self.connection.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return None if row is None else dict(row._mapping)

    def start_handoff(self, conversation_id: int, reason: str) -> int:
        """The conversation joins the queue; returns how many wait ahead of it, unclaimed."""
        if self.open_handoff(conversation_id) is None:
            self.connection.execute(
                insert(HANDOFF).values(
                    conversation_id=conversation_id, reason=reason[:32], requested_at=self.now
                )
            )
        mine = self.open_handoff(conversation_id)
        assert mine is not None
        ahead = self.connection.execute(
            select(func.count())
            .select_from(HANDOFF)
            .where(
                HANDOFF.c.closed_at.is_(None),
                HANDOFF.c.agent.is_(None),
                HANDOFF.c.id < mine["id"],
            )
        ).scalar_one()
        return int(ahead)

    def claim_handoff(self, conversation_id: int, agent: str | None) -> None:
        """``agent`` holds the conversation now (None: back in the queue)."""
        self.connection.execute(
            update(HANDOFF)
            .where(HANDOFF.c.conversation_id == conversation_id, HANDOFF.c.closed_at.is_(None))
            .values(agent=agent, claimed_at=None if agent is None else self.now)
        )

    def close_handoff(self, conversation_id: int, closed_by: str) -> None:
        self.connection.execute(
            update(HANDOFF)
            .where(HANDOFF.c.conversation_id == conversation_id, HANDOFF.c.closed_at.is_(None))
            .values(closed_at=self.now, closed_by=closed_by[:64])
        )

    def rate_handoff(self, conversation_id: int, rating: int) -> None:
        """The merchant's rating of the latest help they got."""
        latest = self.connection.execute(
            select(HANDOFF.c.id)
            .where(HANDOFF.c.conversation_id == conversation_id, HANDOFF.c.closed_at.is_not(None))
            .order_by(HANDOFF.c.id.desc())
            .limit(1)
        ).scalar()
        if latest is not None and 1 <= rating <= 5:
            self.connection.execute(
                update(HANDOFF).where(HANDOFF.c.id == latest).values(rating=rating)
            )

    def audit(self, agent: str, action: str, conversation_id: int | None, detail: str) -> None:
        self.connection.execute(
            insert(AUDIT).values(
                agent=agent[:64],
                action=action[:32],
                conversation_id=conversation_id,
                detail=detail,
                created_at=self.now,
            )
        )
