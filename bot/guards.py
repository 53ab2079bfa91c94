"""The rules around provider calls, kept inside the events' own transactions — so they cost no
commit of their own and hold across processes:

- nothing about a terminal (balances, refunds, deposit, tickets) before its registered phone
  proved control: ``verify_terminal`` says only "matches" or "could not be verified", and failed
  detail checks are limited per terminal and per chat user, across conversations;
- a shared contact the platform vouches is the sender's own, matching the registered phone,
  proves control as a code does (recorded with its method);
- five wrong codes lock the terminal's verification for an hour, whatever conversation the
  attempts came from: a guess takes an attempt when it is committed, *before* the provider sees
  it, so guesses sent at once cannot outrun the lock, and a late answer never unlocks;
- a filing is recorded when it is committed, before the provider is asked; once started it
  finishes — a restart however late asks again under the same idempotency key.

``before`` runs in the transaction that commits an effect: it may refuse it (the runner then
answers without calling the provider) and records what must be durable before the call.
``after`` runs in the transaction that commits the call's outcome: it records what the outcome
establishes and may change the outcome (a right code answered after the lock is "locked")."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from bot.store.records import Verification
from bot.store.transaction import Tx

Result = tuple[str, dict[str, Any]]
MAX_CODE_FAILURES = 5
LOCK_FOR = timedelta(hours=1)
VERIFIED_FOR = timedelta(minutes=30)  # a checked code allows starting a filing for this long
DETAIL_WINDOW = timedelta(hours=24)
DETAIL_LIMITS = {"terminal": 10, "user": 5}  # failed detail checks per window
LOCKED: Result = ("locked", {"minutes": int(LOCK_FOR.total_seconds() // 60)})


class Guards:
    def __init__(self, provider: str) -> None:
        self.provider = provider  # the name filings are recorded under

    def before(
        self, tx: Tx, conversation_id: int, who: str, effect: dict[str, Any]
    ) -> Result | None:
        p, call = effect["params"], effect["call"]
        if call == "verify_terminal":
            return self._limited(tx, p, who)
        if call == "terminal_status":
            if not _verified(tx, p, who):
                return "not_verified", {}
            ours = tx.open_request_for(p["merchant_id"], p["serial"])
            return None if ours is None else ("open_request", {"ticket": ours[0]})
        if call == "send_code":
            return _locked(tx, tx.verification(p["merchant_id"], p["serial"]))
        if call == "check_code":
            return _take_attempt(tx, p["merchant_id"], p["serial"])
        if call == "submit":
            return self._start_filing(tx, conversation_id, who, p)
        return None

    def after(
        self, tx: Tx, conversation_id: int, who: str, effect: dict[str, Any], result: Result
    ) -> Result:
        p, call = effect["params"], effect["call"]
        outcome, data = result
        if effect.get("refused"):  # refused before the call: nothing happened since
            return result
        if call == "verify_terminal" and outcome == "no_match":
            for scope, key in _detail_keys(p, who).items():
                tx.add_detail_failure(scope, key, DETAIL_WINDOW)
        elif call == "verify_terminal" and outcome == "ok":
            _vouched(tx, p, who)
        elif call == "check_code":
            return _judged(tx, p, who, outcome) or result
        elif call == "submit" and outcome == "refused":
            tx.drop_filing(p["idempotency_key"])  # the provider refused it: nothing was filed
        elif call == "submit" and outcome == "filed":
            tx.record_filing(
                conversation_id,
                idempotency_key=data["idempotency_key"],
                provider=self.provider,
                kind=data["kind"],
                merchant_id=data["merchant_id"],
                serial=data["serial"],
                ticket=data["ticket"],
                status=data["state"],
            )
        return result

    # -- details ---------------------------------------------------------------------------------

    @staticmethod
    def _limited(tx: Tx, p: dict[str, Any], who: str) -> Result | None:
        for scope, key in _detail_keys(p, who).items():
            if tx.detail_failures(scope, key, DETAIL_WINDOW) >= DETAIL_LIMITS[scope]:
                return "limited", {}
        return None

    # -- filing ----------------------------------------------------------------------------------

    def _start_filing(
        self, tx: Tx, conversation_id: int, who: str, p: dict[str, Any]
    ) -> Result | None:
        key = p["idempotency_key"]
        started = tx.filed(key)
        if started is not None:
            return None  # started already (a retry, a replay): finish it, under the same key
        ours = tx.open_request_for(p["merchant_id"], p["serial"])
        if ours is not None:  # one open request per terminal
            return "refused", {"code": "open_request", "ticket": ours[0]}
        if not _verified(tx, p, who):
            # whatever a flow allows, nothing is filed without a fresh one-time code
            return "refused", {"code": "not_verified"}
        tx.start_filing(
            conversation_id,
            idempotency_key=key,
            provider=self.provider,
            kind=p["kind"],
            merchant_id=p["merchant_id"],
            serial=p["serial"],
        )
        return None


def _detail_keys(p: dict[str, Any], who: str) -> dict[str, str]:
    return {"terminal": str(p["serial"]), "user": who}


def _verified(tx: Tx, p: dict[str, Any], who: str) -> bool:
    """Did this conversation check a code for this terminal recently enough?"""
    record = tx.verification(p["merchant_id"], p["serial"])
    until = record.verified_until
    return until is not None and until > tx.now and record.verified_for == who


def _vouched(tx: Tx, p: dict[str, Any], who: str) -> None:
    """The registered phone matched, and it is the number the platform vouched is the sender's
    own (a shared Telegram contact): that proves control as a code would — unless the terminal
    is locked after wrong codes, which only time or a person lifts."""
    proof = p.get("phone_proof")
    if not isinstance(proof, dict) or proof.get("phone") != p.get("phone"):
        return
    method = str(proof.get("method", ""))
    if not method.endswith("_contact"):
        return
    merchant_id, serial = p["merchant_id"], p["serial"]
    record = tx.verification(merchant_id, serial, for_update=True)
    if _locked(tx, record):
        return
    tx.set_verification(
        merchant_id,
        serial,
        Verification(verified_until=tx.now + VERIFIED_FOR, verified_for=who, method=method),
    )


def agent_vouched(tx: Tx, slots: dict[str, Any], who: str) -> None:
    """An agent checked the registered phone with the provider (``verify``, for a provider
    posbot cannot check online): that proves control as a code would, recorded as the agent's —
    unless the terminal is locked after wrong codes."""
    proof = slots.get("phone_proof")
    if not isinstance(proof, dict) or proof.get("method") != "agent":
        return
    if proof.get("phone") != slots.get("phone"):
        return
    merchant_id, serial = str(slots["merchant_id"]), str(slots["serial"])
    record = tx.verification(merchant_id, serial, for_update=True)
    if _locked(tx, record):
        return
    method = f"agent:{proof.get('by', '')}"[:32]
    verified = Verification(verified_until=tx.now + VERIFIED_FOR, verified_for=who, method=method)
    tx.set_verification(merchant_id, serial, verified)


def _locked(tx: Tx, record: Verification) -> Result | None:
    if record.locked_until is not None and record.locked_until > tx.now:
        minutes = max(1, int((record.locked_until - tx.now).total_seconds() // 60))
        return "locked", {"minutes": minutes}
    return None


def _take_attempt(tx: Tx, merchant_id: str, serial: str) -> Result | None:
    """Count a guess before the provider sees it; the lock, when it is due."""
    record = tx.verification(merchant_id, serial, for_update=True)
    locked = _locked(tx, record)
    if locked:
        return locked
    if record.locked_until is not None:  # a lock that has run out: a fresh start
        record = Verification()
    if record.failures >= MAX_CODE_FAILURES:  # guesses in flight have used them all
        tx.set_verification(merchant_id, serial, replace(record, locked_until=tx.now + LOCK_FOR))
        return LOCKED
    tx.set_verification(merchant_id, serial, replace(record, failures=record.failures + 1))
    return None


def _judged(tx: Tx, p: dict[str, Any], who: str, outcome: str) -> Result | None:
    """What a code check's answer establishes; the outcome the conversation hears."""
    merchant_id, serial = p["merchant_id"], p["serial"]
    record = tx.verification(merchant_id, serial, for_update=True)
    if record.locked_until is not None and outcome in ("ok", "wrong"):
        return _locked(tx, record) or LOCKED  # the lock came first: a late answer never unlocks
    if outcome == "ok":
        verified = Verification(
            verified_until=tx.now + VERIFIED_FOR, verified_for=who, method="otp"
        )
        tx.set_verification(merchant_id, serial, verified)
        return None
    if outcome in ("expired", "unavailable"):  # not a guess the provider judged wrong
        if record.locked_until is None and record.failures > 0:
            tx.set_verification(merchant_id, serial, replace(record, failures=record.failures - 1))
        return None
    if record.failures >= MAX_CODE_FAILURES:
        tx.set_verification(merchant_id, serial, replace(record, locked_until=tx.now + LOCK_FOR))
        return LOCKED
    return "wrong", {"left": MAX_CODE_FAILURES - record.failures}
