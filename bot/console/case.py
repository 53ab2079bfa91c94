"""The case card: who the merchant is, what they want, what is verified and how, what is still
missing, the checklist, money owed, the provider request and its history — in one glance, so an
agent never asks again for what the bot collected. Collected values are masked unless an agent
reveals one (audited by the caller)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.engine.state import ConversationState
from bot.store.chat_log import latest_replies
from bot.store.repository import Store
from bot.validation.masking import mask_merchant_id, mask_phone, mask_serial

DETAILS = ("merchant_id", "serial", "phone")
MASKS = {"merchant_id": mask_merchant_id, "serial": mask_serial, "phone": mask_phone}
UNDELIVERED_SCAN = 200  # the latest replies looked at for ones that could not be delivered
NEEDED = ("kind", "merchant_id", "serial", "phone", "checklist", "reason")


@dataclass
class Case:
    conversation: dict[str, Any]
    state: ConversationState
    details: dict[str, str] = field(default_factory=dict)  # shown: masked unless revealed
    verified: dict[str, Any] | None = None  # method, by whom, until
    missing: list[str] = field(default_factory=list)
    checklist: dict[str, str] = field(default_factory=dict)
    balance: dict[str, Any] | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    handoffs: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    # replies the platform would not take (WeChat's 48-hour window or quota): text and reason
    undelivered: list[dict[str, str]] = field(default_factory=list)

    @property
    def kind(self) -> str | None:
        kind = self.state.slots.get("kind")
        return str(kind) if kind else None

    @property
    def holder(self) -> str | None:
        open_ = [h for h in self.handoffs if h["closed_at"] is None]
        return open_[-1]["agent"] if open_ else None


def case_of(store: Store, conversation_id: int, reveal: str | None = None) -> Case | None:
    row = store.conversation_row(conversation_id)
    if row is None:
        return None
    state = ConversationState.from_json(row["state"])
    slots = state.slots
    case = Case(row, state)
    for name in DETAILS:
        value = slots.get(name)
        if value:
            case.details[name] = str(value) if name == reveal else MASKS[name](str(value))
    case.missing = [name for name in NEEDED if not slots.get(name)]
    case.checklist = dict(slots.get("checklist") or {})
    terminal = slots.get("terminal")
    if isinstance(terminal, dict) and isinstance(terminal.get("balance"), dict):
        case.balance = terminal["balance"]
    if slots.get("merchant_id") and slots.get("serial"):
        record = store.verification_of(str(slots["merchant_id"]), str(slots["serial"]))
        if record.verified_until is not None:
            case.verified = {
                "method": record.method or "otp",
                "by": record.verified_for,
                "until": record.verified_until,
            }
    case.requests = store.requests_of(conversation_id)
    case.handoffs = store.handoffs_of(conversation_id)
    case.notes = store.notes(conversation_id)
    replies = latest_replies(store, str(row["channel"]), str(row["user_id"]), UNDELIVERED_SCAN)
    case.undelivered = [
        {"text": str(r.item.payload.get("text", "")), "why": str(r.item.payload["undelivered"])}
        for r in replies
        if r.item.payload.get("undelivered")
    ]
    return case
