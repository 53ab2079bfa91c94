"""What the console keeps and reads: agents and their sessions, failed logins, the inbox of
hand-offs, a conversation's notes, canned replies and the audit log. A mixin of ``Store``; each
method is its own short transaction (or a read without the write lock)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, delete, func, insert, select, update

from bot.store.tables import (
    AGENT,
    AGENT_SESSION,
    AUDIT,
    CANNED_REPLY,
    CONVERSATION,
    HANDOFF,
    LOGIN_FAILURE,
    NOTE,
    REQUEST,
    REQUEST_STATUS,
    TRANSCRIPT,
)
from bot.store.transaction import Tx

INBOX_FILTERS = ("waiting", "mine", "bot", "closed")


class _Stored(Protocol):
    def transaction(self) -> AbstractContextManager[Tx]: ...
    def _read(self) -> AbstractContextManager[Connection]: ...
    def clock(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class AgentRecord:
    id: int
    name: str
    role: str
    password_hash: str
    disabled: bool


def _agent(row: Any) -> AgentRecord:
    return AgentRecord(row.id, row.name, row.role, row.password_hash, row.disabled_at is not None)


class People:
    # -- agents ----------------------------------------------------------------------------------

    def add_agent(self: _Stored, name: str, role: str, password_hash: str) -> int:
        with self.transaction() as tx:
            return int(
                tx.connection.execute(
                    insert(AGENT).values(
                        name=name, role=role, password_hash=password_hash, created_at=tx.now
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
            )

    def set_password(self: _Stored, name: str, password_hash: str) -> bool:
        with self.transaction() as tx:
            changed = tx.connection.execute(
                update(AGENT).where(AGENT.c.name == name).values(password_hash=password_hash)
            ).rowcount
            tx.connection.execute(
                delete(AGENT_SESSION).where(
                    AGENT_SESSION.c.agent_id.in_(select(AGENT.c.id).where(AGENT.c.name == name))
                )
            )
            return bool(changed)

    def disable_agent(self: _Stored, name: str) -> None:
        with self.transaction() as tx:
            tx.connection.execute(
                update(AGENT).where(AGENT.c.name == name).values(disabled_at=tx.now)
            )
            tx.connection.execute(
                delete(AGENT_SESSION).where(
                    AGENT_SESSION.c.agent_id.in_(select(AGENT.c.id).where(AGENT.c.name == name))
                )
            )

    def agent_named(self: _Stored, name: str) -> AgentRecord | None:
        with self._read() as connection:
            row = connection.execute(select(AGENT).where(AGENT.c.name == name)).first()
        return None if row is None else _agent(row)

    def agents(self: _Stored) -> list[AgentRecord]:
        with self._read() as connection:
            return [_agent(r) for r in connection.execute(select(AGENT).order_by(AGENT.c.name))]

    # -- sessions and failed logins ----------------------------------------------------------------

    def open_session(self: _Stored, token_hash: str, agent_id: int, lasts: timedelta) -> None:
        with self.transaction() as tx:
            tx.connection.execute(delete(AGENT_SESSION).where(AGENT_SESSION.c.expires_at < tx.now))
            tx.connection.execute(
                insert(AGENT_SESSION).values(
                    token_hash=token_hash,
                    agent_id=agent_id,
                    created_at=tx.now,
                    expires_at=tx.now + lasts,
                )
            )

    def session_agent(self: _Stored, token_hash: str) -> AgentRecord | None:
        """The agent a live session belongs to (None: unknown, expired, or agent disabled)."""
        query = (
            select(AGENT)
            .join(AGENT_SESSION, AGENT_SESSION.c.agent_id == AGENT.c.id)
            .where(
                AGENT_SESSION.c.token_hash == token_hash,
                AGENT_SESSION.c.expires_at > self.clock(),
                AGENT.c.disabled_at.is_(None),
            )
        )
        with self._read() as connection:
            row = connection.execute(query).first()
        return None if row is None else _agent(row)

    def close_session(self: _Stored, token_hash: str) -> None:
        with self.transaction() as tx:
            tx.connection.execute(
                delete(AGENT_SESSION).where(AGENT_SESSION.c.token_hash == token_hash)
            )

    def login_failures(self: _Stored, scope: str, key: str, since: timedelta) -> int:
        with self._read() as connection:
            return int(
                connection.execute(
                    select(func.count())
                    .select_from(LOGIN_FAILURE)
                    .where(
                        LOGIN_FAILURE.c.scope == scope,
                        LOGIN_FAILURE.c.key == key,
                        LOGIN_FAILURE.c.created_at > self.clock() - since,
                    )
                ).scalar_one()
            )

    def add_login_failure(self: _Stored, keys: dict[str, str]) -> None:
        with self.transaction() as tx:
            for scope, key in keys.items():
                tx.connection.execute(
                    insert(LOGIN_FAILURE).values(scope=scope, key=key[:200], created_at=tx.now)
                )

    # -- the inbox ---------------------------------------------------------------------------------

    def inbox(self: _Stored, which: str, agent: str) -> list[dict[str, Any]]:
        """Conversations for the inbox: ``waiting`` (for a person, unclaimed or claimed),
        ``mine`` (held by ``agent``), ``bot`` (with the bot), ``closed`` (hand-offs over)."""
        latest = (
            select(func.max(HANDOFF.c.id).label("id"))
            .group_by(HANDOFF.c.conversation_id)
            .subquery()
        )
        query = select(
            CONVERSATION.c.id,
            CONVERSATION.c.channel,
            CONVERSATION.c.user_id,
            CONVERSATION.c.status,
            CONVERSATION.c.flow,
            CONVERSATION.c.step,
            CONVERSATION.c.locale,
            CONVERSATION.c.updated_at,
            CONVERSATION.c.unreachable_at,
            HANDOFF.c.reason,
            HANDOFF.c.requested_at,
            HANDOFF.c.agent,
            HANDOFF.c.closed_at,
            HANDOFF.c.rating,
        ).select_from(
            CONVERSATION.outerjoin(
                HANDOFF,
                (HANDOFF.c.conversation_id == CONVERSATION.c.id)
                & HANDOFF.c.id.in_(select(latest.c.id)),
            )
        )
        if which == "waiting":
            query = query.where(CONVERSATION.c.status.in_(("waiting_agent", "with_agent")))
            query = query.order_by(HANDOFF.c.requested_at)
        elif which == "mine":
            query = query.where(CONVERSATION.c.status == "with_agent", HANDOFF.c.agent == agent)
            query = query.order_by(HANDOFF.c.requested_at)
        elif which == "closed":
            query = query.where(HANDOFF.c.closed_at.is_not(None)).order_by(
                HANDOFF.c.closed_at.desc()
            )
        else:
            query = query.where(
                CONVERSATION.c.status.not_in(("waiting_agent", "with_agent"))
            ).order_by(CONVERSATION.c.updated_at.desc())
        with self._read() as connection:
            return [dict(r._mapping) for r in connection.execute(query.limit(200)).all()]

    def claim_announcements(self: _Stored, limit: int = 20) -> list[dict[str, Any]]:
        """Hand-offs nobody has announced to the agents' group yet, taken in one transaction so
        that two processes never announce the same one."""
        with self.transaction() as tx:
            rows = tx.connection.execute(
                select(HANDOFF.c.id, HANDOFF.c.conversation_id, HANDOFF.c.reason)
                .where(HANDOFF.c.announced_at.is_(None), HANDOFF.c.closed_at.is_(None))
                .order_by(HANDOFF.c.id)
                .limit(limit)
            ).all()
            if rows:
                tx.connection.execute(
                    update(HANDOFF)
                    .where(HANDOFF.c.id.in_([r.id for r in rows]))
                    .values(announced_at=tx.now)
                )
            return [dict(r._mapping) for r in rows]

    def inbox_mark(self: _Stored) -> tuple[Any, ...]:
        """Changes whenever the inbox would: for live pages to know when to refresh."""
        with self._read() as connection:
            return tuple(
                connection.execute(
                    select(
                        func.count(HANDOFF.c.id),
                        func.max(HANDOFF.c.id),
                        func.max(HANDOFF.c.claimed_at),
                        func.max(HANDOFF.c.closed_at),
                        select(func.max(TRANSCRIPT.c.id)).scalar_subquery(),
                    )
                ).one()
            )

    def conversation_row(self: _Stored, conversation_id: int) -> dict[str, Any] | None:
        with self._read() as connection:
            row = connection.execute(
                select(CONVERSATION).where(CONVERSATION.c.id == conversation_id)
            ).first()
        return None if row is None else dict(row._mapping)

    def conversation_transcript(self: _Stored, conversation_id: int) -> list[dict[str, Any]]:
        query = (
            select(TRANSCRIPT)
            .where(TRANSCRIPT.c.conversation_id == conversation_id)
            .order_by(TRANSCRIPT.c.id)
        )
        with self._read() as connection:
            return [dict(r._mapping) for r in connection.execute(query).all()]

    def requests_of(self: _Stored, conversation_id: int) -> list[dict[str, Any]]:
        """The conversation's requests, each with its status history."""
        with self._read() as connection:
            found = [
                dict(r._mapping)
                for r in connection.execute(
                    select(REQUEST)
                    .where(REQUEST.c.conversation_id == conversation_id)
                    .order_by(REQUEST.c.id)
                )
            ]
            for request in found:
                request["history"] = [
                    dict(r._mapping)
                    for r in connection.execute(
                        select(REQUEST_STATUS)
                        .where(REQUEST_STATUS.c.request_id == request["id"])
                        .order_by(REQUEST_STATUS.c.id)
                    )
                ]
        return found

    def handoffs_of(self: _Stored, conversation_id: int) -> list[dict[str, Any]]:
        query = (
            select(HANDOFF)
            .where(HANDOFF.c.conversation_id == conversation_id)
            .order_by(HANDOFF.c.id)
        )
        with self._read() as connection:
            return [dict(r._mapping) for r in connection.execute(query).all()]

    # -- notes, canned replies, audit ------------------------------------------------------------

    def add_note(self: _Stored, conversation_id: int, agent: str, text: str) -> None:
        with self.transaction() as tx:
            tx.connection.execute(
                insert(NOTE).values(
                    conversation_id=conversation_id, agent=agent, text=text, created_at=tx.now
                )
            )
            tx.audit(agent, "note", conversation_id, "{}")

    def notes(self: _Stored, conversation_id: int) -> list[dict[str, Any]]:
        query = select(NOTE).where(NOTE.c.conversation_id == conversation_id).order_by(NOTE.c.id)
        with self._read() as connection:
            return [dict(r._mapping) for r in connection.execute(query).all()]

    def canned_replies(self: _Stored, locale: str | None = None) -> list[dict[str, Any]]:
        query = select(CANNED_REPLY).order_by(CANNED_REPLY.c.locale, CANNED_REPLY.c.title)
        if locale is not None:
            query = query.where(CANNED_REPLY.c.locale == locale)
        with self._read() as connection:
            return [dict(r._mapping) for r in connection.execute(query).all()]

    def save_canned_reply(
        self: _Stored, agent: str, locale: str, title: str, text: str, reply_id: int | None = None
    ) -> None:
        with self.transaction() as tx:
            values = {"locale": locale, "title": title[:100], "text": text}
            if reply_id is None:
                tx.connection.execute(insert(CANNED_REPLY).values(created_at=tx.now, **values))
            else:
                tx.connection.execute(
                    update(CANNED_REPLY).where(CANNED_REPLY.c.id == reply_id).values(**values)
                )
            tx.audit(agent, "canned_reply", None, f'{{"title": "{title[:40]}"}}')

    def delete_canned_reply(self: _Stored, agent: str, reply_id: int) -> None:
        with self.transaction() as tx:
            tx.connection.execute(delete(CANNED_REPLY).where(CANNED_REPLY.c.id == reply_id))
            tx.audit(agent, "canned_reply_deleted", None, f'{{"id": {reply_id}}}')

    def record_audit(
        self: _Stored, agent: str, action: str, conversation_id: int | None, detail: str
    ) -> None:
        with self.transaction() as tx:
            tx.audit(agent, action, conversation_id, detail)

    def audit_log(self: _Stored, limit: int = 500) -> list[dict[str, Any]]:
        query = select(AUDIT).order_by(AUDIT.c.id.desc()).limit(limit)
        with self._read() as connection:
            return [dict(r._mapping) for r in connection.execute(query).all()]
