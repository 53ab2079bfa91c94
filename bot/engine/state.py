"""The state of one conversation: everything the engine needs, serialisable to JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Literal

# waiting_agent: in the queue for a person; with_agent: a person holds it, the bot is silent
Status = Literal["active", "waiting_effect", "waiting_agent", "with_agent", "done"]
HELD = ("waiting_agent", "with_agent")  # a person is awaited or helps: the bot keeps quiet


@dataclass(slots=True)
class TrackedRequest:
    """A filed request as the merchant last heard of it."""

    ticket: str
    kind: str
    state: str
    reason: str | None = None


@dataclass(slots=True)
class ConversationState:
    flow: str
    flow_version: str
    step: str
    locale: str
    status: Status = "active"
    slots: dict[str, Any] = field(default_factory=dict)
    entry: dict[str, Any] = field(default_factory=dict)  # slots the flow was started with
    retries: dict[str, int] = field(default_factory=dict)  # typing mistakes, per question
    failures: dict[str, int] = field(default_factory=dict)  # provider refusals; survive restarts
    history: list[str] = field(default_factory=list)
    cursor: dict[str, Any] = field(default_factory=dict)  # step-local progress
    return_to: str | None = None  # the confirm step a correction goes back to
    awaiting: str | None = None  # token of the effect this conversation waits for
    run: int = 1  # counts fresh starts; part of the filing's idempotency key
    seq: int = 0  # counts effects, to make their tokens unique
    requests: list[TrackedRequest] = field(default_factory=list)
    # a one-time code was sent and not checked yet: six digits typed anywhere are not stored
    code_outstanding: bool = False
    # questions answered ahead, in a message that held several answers: skipped when reached
    prefilled: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        # by hand: dataclasses.asdict deep-copies every slot, on every event
        data = {name: getattr(self, name) for name in _FIELDS}
        data["requests"] = [
            {"ticket": r.ticket, "kind": r.kind, "state": r.state, "reason": r.reason}
            for r in self.requests
        ]
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> ConversationState:
        data = json.loads(raw)
        data["requests"] = [TrackedRequest(**r) for r in data.get("requests", [])]
        return cls(**data)

    def request(self, ticket: str) -> TrackedRequest | None:
        return next((r for r in self.requests if r.ticket == ticket), None)

    @property
    def latest_request(self) -> TrackedRequest | None:
        return self.requests[-1] if self.requests else None


_FIELDS = tuple(f.name for f in fields(ConversationState) if f.name != "requests")
