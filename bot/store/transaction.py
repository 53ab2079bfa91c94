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
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection

from bot.store.handoff_records import HandoffRecords
from bot.store.records import Records

SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores datetimes in SQLite (UTC)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    conversation_id: int
    kind: str  # message | effect
    channel: str
    user_id: str
    payload: dict[str, Any]


class OutboxRow(NamedTuple):
    """An outbox row as the hot statements read it."""

    id: int
    conversation_id: int
    kind: str
    channel: str
    user_id: str
    payload: str
    receipt: str | None


def outbox_item(row: Any) -> OutboxItem:
    """An outbox row as an OutboxItem; a delivered reply's receipt (what the platform said of
    it: ``sent_as``, ``undelivered``...) is read as part of its payload."""
    payload = json.loads(row.payload)
    receipt = getattr(row, "receipt", None)
    if receipt:
        payload.update(json.loads(receipt))
    return OutboxItem(row.id, row.conversation_id, row.kind, row.channel, row.user_id, payload)


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
            "status = ?, state = ?, updated_at = ?, unreachable_at = NULL WHERE id = ?"
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
        # a channel's undelivered replies nobody sends, oldest first: a chat with a reply under a
        # live lease (claimed after the given moment) is left whole; then those taken, leased
        self.claimable = q(
            "SELECT o.id, o.conversation_id, o.kind, o.channel, o.user_id, o.payload, o.receipt "
            "FROM outbox AS o WHERE o.kind = 'message' AND o.channel = ? AND o.done_at IS NULL "
            "AND (o.claimed_at IS NULL OR o.claimed_at <= ?) AND NOT EXISTS (SELECT 1 FROM "
            "outbox AS h WHERE h.channel = o.channel AND h.user_id = o.user_id AND "
            "h.kind = 'message' AND h.done_at IS NULL AND h.claimed_at > ?) "
            "ORDER BY o.id LIMIT ?" + (" FOR UPDATE SKIP LOCKED" if postgres else "")
        )
        self.take = q("UPDATE outbox SET claimed_at = ?, attempts = attempts + 1 WHERE id = ?")
        # a sender's receipts, many at once
        self.sent = q("UPDATE outbox SET done_at = ?, receipt = ?, keyboard = ? WHERE id = ?")
        # asked at every button tap, outside any transaction
        self.last_keyboard = q(
            "SELECT keyboard FROM outbox WHERE channel = ? AND user_id = ? "
            "AND keyboard IS NOT NULL ORDER BY id DESC LIMIT 1"
        )


_HOT: dict[str, HotSql] = {}


def hot_sql(dialect: str) -> HotSql:
    return _HOT.get(dialect) or _HOT.setdefault(dialect, HotSql(dialect))


class Tx(Records, HandoffRecords):
    """What one event may change, inside its transaction: the hot statements here, the rest
    (filings, statuses, verification, limits) in ``Records``."""

    def __init__(self, connection: Connection, now: datetime) -> None:
        self.connection = connection
        self.now = now
        dialect = connection.dialect.name
        self.sql = hot_sql(dialect)
        self.cursor = connection.connection.cursor()
        self.stamp: Any = self.stamp_of(now)

    def stamp_of(self, moment: datetime) -> Any:
        """``moment`` as the hot statements bind it (SQLite: the text SQLAlchemy stores)."""
        utc = moment.astimezone(UTC)
        return utc if self.connection.dialect.name == "postgresql" else utc.strftime(SQLITE_TIME)

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
        *,
        lease_messages: bool = False,
    ) -> list[OutboxItem]:
        """Add outbox rows. An effect to run at once is claimed by this process; so are the
        messages when ``lease_messages`` (a channel that answers them in its response)."""
        queued = []
        for kind, payload in items:
            raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
            now = (kind == "effect" and "not_before" not in payload) or (
                kind == "message" and lease_messages
            )
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
