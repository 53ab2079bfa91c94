"""The effect runner: performs the provider calls flows ask for and reports each outcome back
as an ``effect`` event. It also keeps the one-time-code rule: five wrong codes lock the
terminal's verification for an hour, whatever conversation the attempts came from."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from bot.engine.events import InboundEvent
from bot.errors import ProviderError, ProviderRejected, ProviderUnavailable
from bot.providers.base import Balance, Filing, Provider
from bot.store.repository import Store
from bot.store.transaction import OutboxItem, Verification

Result = tuple[str, dict[str, Any]]
MAX_CODE_FAILURES = 5
LOCK_FOR = timedelta(hours=1)
VERIFIED_FOR = timedelta(minutes=30)  # a checked code allows filing for this long


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
        self, provider: Provider, store: Store, *, attempts: int = 3, wait_max: float = 2.0
    ) -> None:
        self.provider = provider
        self.store = store
        self.attempts = attempts
        self.wait_max = wait_max
        self._calls: dict[str, Callable[[dict[str, Any]], Awaitable[Result]]] = {
            "verify_terminal": self._verify_terminal,
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
        }
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.attempts),
                wait=wait_exponential(multiplier=0.2, max=self.wait_max),
                retry=retry_if_exception_type(ProviderUnavailable),
                reraise=True,
            ):
                with attempt:
                    outcome, data = await self._calls[payload["call"]](dict(params))
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

    async def _verify_terminal(self, p: dict[str, Any]) -> Result:
        found = await self.provider.lookup(p["merchant_id"], p["serial"], p["phone"])
        data: dict[str, Any] = {"ticket": found.ticket}
        if found.verdict == "ok":
            balance = await self.provider.balance(p["merchant_id"], p["serial"])
            data["balance"] = balance_data(balance)
            data["model"] = found.terminal.model if found.terminal else ""
        return found.verdict, data

    def _locked(self, merchant_id: str, serial: str) -> Result | None:
        with self.store.reading() as tx:
            record = tx.verification(merchant_id, serial)
            if record.locked_until is not None and record.locked_until > tx.now:
                minutes = max(1, int((record.locked_until - tx.now).total_seconds() // 60))
                return "locked", {"minutes": minutes}
        return None

    async def _send_code(self, p: dict[str, Any]) -> Result:
        locked = self._locked(p["merchant_id"], p["serial"])
        if locked:
            return locked
        await self.provider.send_code(p["merchant_id"], p["serial"])
        return "sent", {}

    async def _check_code(self, p: dict[str, Any]) -> Result:
        merchant_id, serial = p["merchant_id"], p["serial"]
        locked = self._locked(merchant_id, serial)
        if locked:
            return locked
        verdict = await self.provider.check_code(merchant_id, serial, str(p["code"]))
        with self.store.transaction() as tx:
            record = tx.verification(merchant_id, serial)
            if verdict == "ok":
                tx.set_verification(
                    merchant_id,
                    serial,
                    Verification(verified_until=tx.now + VERIFIED_FOR, verified_for=p["who"]),
                )
                return "ok", {}
            if verdict == "expired":
                return "expired", {}
            failures = record.failures + 1
            if failures >= MAX_CODE_FAILURES:
                tx.set_verification(
                    merchant_id, serial, Verification(locked_until=tx.now + LOCK_FOR)
                )
                return "locked", {"minutes": int(LOCK_FOR.total_seconds() // 60)}
            tx.set_verification(merchant_id, serial, Verification(failures=failures))
            return "wrong", {"left": MAX_CODE_FAILURES - failures}

    def _verified(self, merchant_id: str, serial: str, who: str) -> bool:
        """Did this conversation check a code for this terminal recently enough?"""
        with self.store.reading() as tx:
            record = tx.verification(merchant_id, serial)
            until = record.verified_until
            return until is not None and until > tx.now and record.verified_for == who

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
        with self.store.reading() as tx:
            already = tx.filed(filing.idempotency_key)
            in_progress = tx.open_request_for(filing.merchant_id, filing.serial)
        if already is not None:
            return "filed", self._filed(filing, *already)
        if in_progress is not None:  # one open request per terminal, whatever the provider says
            return "refused", {"code": "open_request", "ticket": in_progress}
        if not p.get("attempt") and not self._verified(filing.merchant_id, filing.serial, p["who"]):
            # whatever a flow allows, nothing is filed without a fresh one-time code
            return "refused", {"code": "not_verified"}
        try:
            status = await self.provider.submit(filing)
        except ProviderRejected as exc:
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
        files = await self.provider.export_records(p["merchant_id"], p["serial"])
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
