"""The effect runner: performs the provider calls flows ask for and reports each outcome back
as an ``effect`` event. It also keeps the rules that make guessing useless:

- nothing about a terminal (balances, refunds, deposit, tickets) before its registered phone
  proved control: ``verify_terminal`` answers only "matches" or "could not be verified", and
  failed detail checks are limited per terminal and per chat user, across conversations;
- five wrong codes lock the terminal's verification for an hour, whatever conversation the
  attempts came from; an attempt is taken in the store *before* the provider is asked, so
  guesses sent at once cannot outrun the lock, and a late answer never unlocks;
- a filing is recorded before the provider is asked; once started it finishes — a restart
  however late files again under the same idempotency key."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeVar

from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from bot.engine.events import InboundEvent
from bot.errors import ProviderError, ProviderRejected, ProviderUnavailable
from bot.providers.base import Balance, Filing, Provider
from bot.store.records import Verification
from bot.store.repository import Store
from bot.store.transaction import OutboxItem, Tx

T = TypeVar("T")
Result = tuple[str, dict[str, Any]]
MAX_CODE_FAILURES = 5
LOCK_FOR = timedelta(hours=1)
VERIFIED_FOR = timedelta(minutes=30)  # a checked code allows starting a filing for this long
DETAIL_WINDOW = timedelta(hours=24)
DETAIL_LIMITS = {"terminal": 10, "user": 5}  # failed detail checks per window


def balance_data(balance: Balance) -> dict[str, Any]:
    return {
        "unsettled": str(balance.unsettled),
        "pending_refunds": balance.pending_refunds,
        "pending_refund_amount": str(balance.pending_refund_amount),
        "deposit": str(balance.deposit),
        "fees": str(balance.fees),
        "currency": balance.currency,
        "settled": balance.is_clear,
    }


class EffectRunner:
    def __init__(
        self,
        provider: Provider,
        store: Store,
        *,
        attempts: int = 3,
        wait_max: float = 2.0,
        provider_name: str | None = None,
    ) -> None:
        self.provider = provider
        self.store = store
        self.attempts = attempts
        self.wait_max = wait_max
        self.provider_name = provider_name or provider.name
        self._calls: dict[str, Callable[[dict[str, Any]], Awaitable[Result]]] = {
            "verify_terminal": self._verify_terminal,
            "terminal_status": self._terminal_status,
            "send_code": self._send_code,
            "check_code": self._check_code,
            "submit": self._submit,
            "export_records": self._export_records,
        }

    async def run(self, item: OutboxItem) -> InboundEvent:
        payload = item.payload
        params = {
            **payload["params"],
            "attempt": payload.get("attempt", 0),
            "who": f"{item.channel}:{item.user_id}",  # the conversation asking
            "conversation_id": item.conversation_id,
            "outbox_id": item.id,  # names this call: asked again after a crash, same answer
        }
        try:
            outcome, data = await self._calls[payload["call"]](params)
        except ProviderError as exc:
            outcome, data = "unavailable", {"error": type(exc).__name__}
        return InboundEvent(
            item.channel,
            item.user_id,
            f"effect:{item.id}",
            kind="effect",
            payload={
                "token": payload["token"],
                "call": payload["call"],
                "outcome": outcome,
                "data": data,
                "outbox_id": item.id,
            },
        )

    async def _ask(self, call: Callable[[], Awaitable[T]]) -> T:
        """A provider call, tried again on transient failures only."""
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=0.2, max=self.wait_max),
            retry=retry_if_exception_type(ProviderUnavailable),
            reraise=True,
        ):
            with attempt:
                return await call()
        raise AssertionError("unreachable")  # pragma: no cover

    # -- before proof of control: does it match, nothing more ---------------------------------

    async def _verify_terminal(self, p: dict[str, Any]) -> Result:
        keys = {"terminal": str(p["serial"]), "user": str(p["who"])}
        with self.store.reading() as tx:
            if any(
                tx.detail_failures(scope, key, DETAIL_WINDOW) >= DETAIL_LIMITS[scope]
                for scope, key in keys.items()
            ):
                return "limited", {}
        found = await self._ask(
            lambda: self.provider.lookup(p["merchant_id"], p["serial"], p["phone"])
        )
        if found.verdict == "no_match":
            with self.store.transaction() as tx:
                for scope, key in keys.items():
                    tx.add_detail_failure(scope, key, DETAIL_WINDOW)
            return "no_match", {}
        return "ok", {}  # deregistered, or a request open: said only once the phone is proved

    # -- after proof of control: the terminal's state and what is owed -----------------------

    async def _terminal_status(self, p: dict[str, Any]) -> Result:
        merchant_id, serial = p["merchant_id"], p["serial"]
        with self.store.reading() as tx:
            if not self._verified(tx, merchant_id, serial, p["who"]):
                return "not_verified", {}
            ours = tx.open_request_for(merchant_id, serial)
        if ours is not None:
            return "open_request", {"ticket": ours[0]}
        found = await self._ask(lambda: self.provider.lookup(merchant_id, serial, p["phone"]))
        if found.verdict in ("deregistered", "open_request"):
            return found.verdict, {"ticket": found.ticket}
        if found.verdict != "ok":
            return "no_match", {}
        balance = await self._ask(lambda: self.provider.balance(merchant_id, serial))
        model = found.terminal.model if found.terminal else ""
        return "ok", {"balance": balance_data(balance), "model": model, "ticket": None}

    # -- one-time codes ------------------------------------------------------------------------

    @staticmethod
    def _lock() -> Result:
        return "locked", {"minutes": int(LOCK_FOR.total_seconds() // 60)}

    @staticmethod
    def _locked_for(tx: Tx, record: Verification) -> Result | None:
        if record.locked_until is not None and record.locked_until > tx.now:
            minutes = max(1, int((record.locked_until - tx.now).total_seconds() // 60))
            return "locked", {"minutes": minutes}
        return None

    async def _send_code(self, p: dict[str, Any]) -> Result:
        with self.store.reading() as tx:
            locked = self._locked_for(tx, tx.verification(p["merchant_id"], p["serial"]))
        if locked:
            return locked
        await self._ask(lambda: self.provider.send_code(p["merchant_id"], p["serial"]))
        return "sent", {}

    def _take_attempt(self, merchant_id: str, serial: str) -> Result | None:
        """Count a guess before the provider sees it; the lock, when it is due."""
        with self.store.transaction() as tx:
            record = tx.verification(merchant_id, serial)
            locked = self._locked_for(tx, record)
            if locked:
                return locked
            if record.locked_until is not None:  # a lock that has run out: a fresh start
                record = Verification()
            if record.failures >= MAX_CODE_FAILURES:  # guesses in flight used them all
                tx.set_verification(
                    merchant_id, serial, replace(record, locked_until=tx.now + LOCK_FOR)
                )
                return self._lock()
            tx.set_verification(merchant_id, serial, replace(record, failures=record.failures + 1))
        return None

    def _give_back(self, tx: Tx, merchant_id: str, serial: str) -> Verification:
        record = tx.verification(merchant_id, serial)
        if record.locked_until is None and record.failures > 0:
            record = replace(record, failures=record.failures - 1)
            tx.set_verification(merchant_id, serial, record)
        return record

    async def _check_code(self, p: dict[str, Any]) -> Result:
        merchant_id, serial = p["merchant_id"], p["serial"]
        refused = self._take_attempt(merchant_id, serial)
        if refused:
            return refused
        try:
            verdict = await self._ask(
                lambda: self.provider.check_code(
                    merchant_id, serial, str(p["code"]), key=str(p["outbox_id"])
                )
            )
        except ProviderError:
            with self.store.transaction() as tx:
                self._give_back(tx, merchant_id, serial)  # not a guess the provider judged
            raise
        with self.store.transaction() as tx:
            record = tx.verification(merchant_id, serial)
            if record.locked_until is not None:
                return self._locked_for(tx, record) or self._lock()  # never unlocked late
            if verdict == "ok":
                tx.set_verification(
                    merchant_id,
                    serial,
                    Verification(verified_until=tx.now + VERIFIED_FOR, verified_for=p["who"]),
                )
                return "ok", {}
            if verdict == "expired":
                self._give_back(tx, merchant_id, serial)
                return "expired", {}
            if record.failures >= MAX_CODE_FAILURES:
                tx.set_verification(
                    merchant_id, serial, replace(record, locked_until=tx.now + LOCK_FOR)
                )
                return self._lock()
            return "wrong", {"left": MAX_CODE_FAILURES - record.failures}

    @staticmethod
    def _verified(tx: Tx, merchant_id: str, serial: str, who: str) -> bool:
        """Did this conversation check a code for this terminal recently enough?"""
        record = tx.verification(merchant_id, serial)
        until = record.verified_until
        return until is not None and until > tx.now and record.verified_for == who

    # -- filing ----------------------------------------------------------------------------------

    async def _submit(self, p: dict[str, Any]) -> Result:
        filing = Filing(
            idempotency_key=p["idempotency_key"],
            kind=p["kind"],
            merchant_id=p["merchant_id"],
            serial=p["serial"],
            phone=p["phone"],
            reason=str(p.get("reason") or ""),
            checklist={k: str(v) for k, v in (p.get("checklist") or {}).items()},
        )
        with self.store.transaction() as tx:
            started = tx.filed(filing.idempotency_key)
            if started is not None and started[0] is not None:
                return "filed", self._filed(filing, started[0], started[1])
            if started is None:  # not started yet: may it start?
                in_progress = tx.open_request_for(filing.merchant_id, filing.serial)
                if in_progress is not None:  # one open request per terminal
                    return "refused", {"code": "open_request", "ticket": in_progress[0]}
                if not self._verified(tx, filing.merchant_id, filing.serial, p["who"]):
                    # whatever a flow allows, nothing is filed without a fresh one-time code
                    return "refused", {"code": "not_verified"}
                tx.start_filing(
                    int(p["conversation_id"]),
                    idempotency_key=filing.idempotency_key,
                    provider=self.provider_name,
                    kind=filing.kind,
                    merchant_id=filing.merchant_id,
                    serial=filing.serial,
                )
        # started (now, or by a run that crashed): finish it, under the same key
        try:
            status = await self._ask(lambda: self.provider.submit(filing))
        except ProviderRejected as exc:
            with self.store.transaction() as tx:
                tx.drop_filing(filing.idempotency_key)
            return "refused", {"code": exc.code}
        return "filed", self._filed(filing, status.ticket, status.state)

    @staticmethod
    def _filed(filing: Filing, ticket: str, state: str) -> dict[str, Any]:
        return {
            "ticket": ticket,
            "state": state,
            "kind": filing.kind,
            "idempotency_key": filing.idempotency_key,
            "merchant_id": filing.merchant_id,
            "serial": filing.serial,
        }

    async def _export_records(self, p: dict[str, Any]) -> Result:
        files = await self._ask(lambda: self.provider.export_records(p["merchant_id"], p["serial"]))
        if not files:
            return "unavailable", {}
        return "exported", {
            "files": [
                {
                    "name": f.name,
                    "content_type": f.content_type,
                    "data": base64.b64encode(f.data).decode(),
                }
                for f in files
            ]
        }
