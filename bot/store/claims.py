"""Who works on which outbox row, so that several processes can share one database: a row is
claimed in a transaction before it is worked on, and the claim is a lease — a process that
dies leaves its rows to be taken on again once the lease runs out.

- Effects (provider calls) are claimed one by one: two processes never run the same call.
- Replies are claimed a chat at a time: a chat's replies go out in order, from one process, and
  a chat with replies in someone's hands is left alone until they are delivered. A process
  renews its leases while it sends (a 429 can hold a chat for a while) and gives them back when
  it stops. Delivery stays at-least-once: a process that dies after sending and before marking
  the reply sent leaves it to be sent again."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Select, or_, select, update

from bot.store.tables import OUTBOX
from bot.store.transaction import OutboxItem, OutboxRow, Tx, outbox_item

# an effect taken on by a process is its own for this long; after that (the process crashed or
# hangs) another may take it on. Longer than any provider call with its retries.
EFFECT_LEASE = timedelta(seconds=60)
# a chat's replies taken on by a sender are its own this long (POSBOT_REPLY_LEASE_SECONDS); it
# renews the lease a few times within it while it sends
MESSAGE_LEASE = timedelta(seconds=20)


class _HasTransaction(Protocol):
    reply_lease: timedelta

    def transaction(self) -> AbstractContextManager[Tx]: ...


def _locked(tx: Tx, query: Select[Any]) -> Select[Any]:
    return (
        query.with_for_update(skip_locked=True)
        if tx.connection.dialect.name == "postgresql"
        else query
    )


class Claims:
    reply_lease = MESSAGE_LEASE  # after a crash, another process sends the chat's replies

    def claim_due_effects(self: _HasTransaction, limit: int = 20) -> list[OutboxItem]:
        """Take on effects that are due and that nobody runs: never claimed (a retry whose
        time has come), or claimed by a process whose lease ran out (it crashed). Claimed in
        one transaction, so two processes never take the same effect."""
        with self.transaction() as tx:
            query = (
                select(OUTBOX)
                .where(
                    OUTBOX.c.kind == "effect",
                    OUTBOX.c.done_at.is_(None),
                    or_(
                        OUTBOX.c.claimed_at.is_(None),
                        OUTBOX.c.claimed_at < tx.now - EFFECT_LEASE,
                    ),
                )
                .order_by(OUTBOX.c.id)
            )
            due = []
            for row in tx.connection.execute(_locked(tx, query)).all():
                payload = json.loads(row.payload)
                not_before = payload.get("not_before")
                if not_before and datetime.fromisoformat(not_before) > tx.now:
                    continue
                due.append(outbox_item(row))
                if len(due) == limit:
                    break
            if due:
                tx.connection.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id.in_([item.id for item in due]))
                    .values(claimed_at=tx.now, attempts=OUTBOX.c.attempts + 1)
                )
            return due

    def claim_messages(self: _HasTransaction, channel: str, limit: int = 1000) -> list[OutboxItem]:
        """Take on the undelivered replies of every chat of ``channel`` that nobody is sending
        to, in order; a chat with a reply under a live lease is skipped whole. Only what can be
        taken is read: a wake-up costs what it finds, not what is in flight."""
        with self.transaction() as tx:
            expired = tx.stamp_of(tx.now - self.reply_lease)
            tx.cursor.execute(tx.sql.claimable, (channel, expired, expired, limit))
            taken = [outbox_item(OutboxRow(*values)) for values in tx.cursor.fetchall()]
            if taken:
                tx.cursor.executemany(tx.sql.take, [(tx.stamp, item.id) for item in taken])
            return taken

    def renew_claims(self: _HasTransaction, ids: Sequence[int]) -> None:
        """Still working on these: their lease starts again."""
        if ids:
            with self.transaction() as tx:
                tx.connection.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id.in_(list(ids)), OUTBOX.c.done_at.is_(None))
                    .values(claimed_at=tx.now)
                )

    def release_claims(self: _HasTransaction, ids: Sequence[int]) -> None:
        """No longer working on these (stopping): anyone may take them on at once."""
        if ids:
            with self.transaction() as tx:
                tx.connection.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id.in_(list(ids)), OUTBOX.c.done_at.is_(None))
                    .values(claimed_at=None)
                )
