"""The tables. Alembic migrations in migrations/versions create exactly these."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, UniqueConstraint
from sqlmodel import Field, SQLModel


class Conversation(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("channel", "user_id", name="uq_conversation_user"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    user_id: str = Field(max_length=128)
    locale: str = Field(max_length=16)
    flow: str = Field(max_length=64)
    flow_version: str = Field(max_length=32)
    step: str = Field(max_length=64)
    status: str = Field(max_length=32, index=True)
    state: str  # ConversationState as JSON: slots, checklist, history, tracked requests
    created_at: datetime
    updated_at: datetime = Field(index=True)
    unreachable_at: datetime | None = None  # the platform refused delivery (bot blocked)


class Transcript(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    direction: str = Field(max_length=8)  # in | out
    text: str  # redacted: never a card number or a code in clear
    created_at: datetime


class InboundKey(SQLModel, table=True):
    """Dedup keys of inbound events: a key seen twice changes nothing the second time."""

    channel: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=128)
    created_at: datetime = Field(index=True)


class Request(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("provider", "ticket", name="uq_request_provider_ticket"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    idempotency_key: str = Field(max_length=64, unique=True)
    provider: str = Field(max_length=32)
    kind: str = Field(max_length=16)
    merchant_id: str = Field(max_length=64)
    serial: str = Field(max_length=64)
    ticket: str | None = Field(default=None, max_length=64, index=True)  # None while filing
    status: str = Field(max_length=32, index=True)
    reason: str | None = None
    created_at: datetime
    updated_at: datetime


class RequestStatus(SQLModel, table=True):
    """Every status a request has been in, in order."""

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    status: str = Field(max_length=32)
    reason: str | None = None
    created_at: datetime


class Outbox(SQLModel, table=True):
    """Replies to send and effects to run, committed with the state that produced them."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    kind: str = Field(max_length=16)  # message | effect
    channel: str = Field(max_length=32)
    user_id: str = Field(max_length=128)
    payload: str  # JSON
    created_at: datetime
    done_at: datetime | None = Field(default=None, index=True)
    attempts: int = 0  # effects: how many times a process took it on
    claimed_at: datetime | None = None  # effects: when it was last taken on (a lease)


class FlowVersion(SQLModel, table=True):
    """Every flow version ever served, so a conversation can finish on the one it started."""

    flow: str = Field(primary_key=True, max_length=64)
    version: str = Field(primary_key=True, max_length=32)
    source: str
    created_at: datetime


class Verification(SQLModel, table=True):
    """One-time-code attempts per terminal, and the lock after too many wrong codes."""

    merchant_id: str = Field(primary_key=True, max_length=64)
    serial: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    locked_until: datetime | None = None
    verified_until: datetime | None = None  # a filing needs a code checked within this window
    verified_for: str | None = Field(default=None, max_length=200)  # ... by that conversation
    method: str | None = Field(default=None, max_length=40)  # ... this way: otp, telegram_contact
    updated_at: datetime


class DetailCheck(SQLModel, table=True):
    """Failed checks of a merchant's details, per terminal and per chat user, in a window:
    guessing whose terminal this is is limited across conversations."""

    scope: str = Field(primary_key=True, max_length=16)  # terminal | user
    key: str = Field(primary_key=True, max_length=200)
    failures: int = 0
    window_start: datetime


class InboundFailure(SQLModel, table=True):
    """An inbound event that failed to be handled: counted per delivery, and set aside for an
    operator after a few, so one bad message cannot fail forever."""

    channel: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=128)
    user_id: str = Field(max_length=128)
    attempts: int = 0
    error: str = Field(max_length=200)  # the exception's type, never its message
    text: str  # what the merchant sent, redacted as the transcript would keep it
    created_at: datetime = Field(index=True)
    set_aside_at: datetime | None = None


# -- people: agents, their sessions, and what they did -------------------------------------------


class Agent(SQLModel, table=True):
    """A person who answers merchants in the console. ``role``: agent, or admin (who also
    manages agents and canned replies and reads the audit log)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    password_hash: str  # argon2
    created_at: datetime
    disabled_at: datetime | None = None


class AgentSession(SQLModel, table=True):
    """A console login. Only the token's hash is kept; it expires."""

    token_hash: str = Field(primary_key=True, max_length=64)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    created_at: datetime
    expires_at: datetime = Field(index=True)


class LoginFailure(SQLModel, table=True):
    """Failed logins, per name and per address, to limit guessing."""

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=8)  # name | address
    key: str = Field(max_length=200, index=True)
    created_at: datetime


class Handoff(SQLModel, table=True):
    """A conversation handed to a person: waiting from ``requested_at``, held by ``agent``
    from ``claimed_at``, over at ``closed_at``; the merchant's rating of the help."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    reason: str = Field(max_length=32)
    requested_at: datetime = Field(index=True)
    agent: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = None
    closed_at: datetime | None = Field(default=None, index=True)
    closed_by: str | None = Field(default=None, max_length=64)
    rating: int | None = None
    announced_at: datetime | None = None  # told to the agents' Telegram group


class Note(SQLModel, table=True):
    """An agent's internal note on a conversation: never shown to the merchant."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    agent: str = Field(max_length=64)
    text: str
    created_at: datetime


class CannedReply(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    locale: str = Field(max_length=16)
    title: str = Field(max_length=100)
    text: str
    created_at: datetime


class Audit(SQLModel, table=True):
    """What agents did: claim, reveal, reply, correct, status, hand back, close, and the
    admins' changes. Shown to admins."""

    id: int | None = Field(default=None, primary_key=True)
    agent: str = Field(max_length=64)
    action: str = Field(max_length=32)
    conversation_id: int | None = Field(default=None, index=True)
    detail: str  # masked: never a collected value in clear
    created_at: datetime = Field(index=True)


class AccessToken(SQLModel, table=True):
    """A platform's API access token (WeChat's lasts two hours and fetching a new one ends the
    old one soon after): kept here so every process shares one instead of each taking its own."""

    platform: str = Field(primary_key=True, max_length=32)
    account: str = Field(primary_key=True, max_length=64)  # the AppID
    token: str = Field(max_length=1024)
    expires_at: datetime
    updated_at: datetime


# the Core tables behind the models, for the repository's statements
CONVERSATION: Table = SQLModel.metadata.tables["conversation"]
TRANSCRIPT: Table = SQLModel.metadata.tables["transcript"]
INBOUND: Table = SQLModel.metadata.tables["inboundkey"]
REQUEST: Table = SQLModel.metadata.tables["request"]
REQUEST_STATUS: Table = SQLModel.metadata.tables["requeststatus"]
OUTBOX: Table = SQLModel.metadata.tables["outbox"]
FLOW_VERSION: Table = SQLModel.metadata.tables["flowversion"]
VERIFICATION: Table = SQLModel.metadata.tables["verification"]
DETAIL_CHECK: Table = SQLModel.metadata.tables["detailcheck"]
INBOUND_FAILURE: Table = SQLModel.metadata.tables["inboundfailure"]
AGENT: Table = SQLModel.metadata.tables["agent"]
AGENT_SESSION: Table = SQLModel.metadata.tables["agentsession"]
LOGIN_FAILURE: Table = SQLModel.metadata.tables["loginfailure"]
HANDOFF: Table = SQLModel.metadata.tables["handoff"]
NOTE: Table = SQLModel.metadata.tables["note"]
CANNED_REPLY: Table = SQLModel.metadata.tables["cannedreply"]
AUDIT: Table = SQLModel.metadata.tables["audit"]
ACCESS_TOKEN: Table = SQLModel.metadata.tables["accesstoken"]
