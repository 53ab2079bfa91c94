"""The effect runner: performs the provider calls flows ask for and reports each outcome back
as an ``effect`` event. It does only I/O: what must be recorded around a call (attempts, locks,
filings, limits) is kept in the events' own transactions by ``bot.guards``; an effect refused
there is answered here without calling the provider."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from bot.engine.calls import CALLS
from bot.engine.events import InboundEvent
from bot.errors import ProviderCannotCheck, ProviderError, ProviderRejected, ProviderUnavailable
from bot.exports.fit import AttachmentFit
from bot.providers.base import Balance, Filing, Provider
from bot.providers.exports import with_workbook
from bot.providers.letter import letter_values, load_letter_template
from bot.providers.letter_worker import render_aside
from bot.store.transaction import OutboxItem

T = TypeVar("T")
Result = tuple[str, dict[str, Any]]


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
        *,
        attempts: int = 3,
        wait_max: float = 2.0,
        letters: Path | None = None,
        fit: AttachmentFit | None = None,
    ) -> None:
        self.provider = provider
        # exports made to fit the merchant's channel: split, or linked (None: sent as they are)
        self.fit = fit or AttachmentFit(None)
        self.letters = letters  # application letter templates: a filing brings its letter
        self.attempts = attempts
        self.wait_max = wait_max
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
        refused = payload.get("refused")
        if refused:  # refused in the store before any call: the provider is not asked
            outcome, data = str(refused[0]), dict(refused[1])
        else:
            # "check" names this call; "channel" is where its result goes
            params = {**payload["params"], "check": str(item.id), "channel": item.channel}
            try:
                outcome, data = await self._calls[payload["call"]](params)
            except ProviderCannotCheck as exc:  # a person checks instead, where the flow can say
                outcome = "unchecked" if "unchecked" in CALLS[payload["call"]] else "unavailable"
                data = {"what": exc.what}
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

    async def _verify_terminal(self, p: dict[str, Any]) -> Result:
        """Before the phone is proved: does it match — nothing more (a closed terminal, an
        open request and what is owed are told only once the phone is proved)."""
        found = await self._ask(
            lambda: self.provider.lookup(p["merchant_id"], p["serial"], p["phone"])
        )
        return ("no_match", {}) if found.verdict == "no_match" else ("ok", {})

    async def _terminal_status(self, p: dict[str, Any]) -> Result:
        """After: the terminal's state and what is still owed."""
        merchant_id, serial = p["merchant_id"], p["serial"]
        found = await self._ask(lambda: self.provider.lookup(merchant_id, serial, p["phone"]))
        if found.verdict in ("deregistered", "open_request"):
            return found.verdict, {"ticket": found.ticket}
        if found.verdict != "ok":
            return "no_match", {}
        balance = await self._ask(lambda: self.provider.balance(merchant_id, serial))
        model = found.terminal.model if found.terminal else ""
        return "ok", {"balance": balance_data(balance), "model": model, "ticket": None}

    async def _send_code(self, p: dict[str, Any]) -> Result:
        await self._ask(lambda: self.provider.send_code(p["merchant_id"], p["serial"]))
        return "sent", {}

    async def _check_code(self, p: dict[str, Any]) -> Result:
        verdict = await self._ask(
            lambda: self.provider.check_code(
                p["merchant_id"], p["serial"], str(p["code"]), key=p["check"]
            )
        )
        return verdict, {}

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
        try:
            status = await self._ask(lambda: self.provider.submit(filing))
        except ProviderRejected as exc:
            return "refused", {"code": exc.code}
        data: dict[str, Any] = {
            "ticket": status.ticket,
            "state": status.state,
            "kind": filing.kind,
            "idempotency_key": filing.idempotency_key,
            "merchant_id": filing.merchant_id,
            "serial": filing.serial,
        }
        if self.letters is not None:
            data["letter"] = await self._letter(filing, status.ticket)
        return "filed", data

    async def _letter(self, filing: Filing, ticket: str) -> dict[str, str]:
        """The application letter of ``filing``, for the merchant's own records (rendered in
        a worker process: the loop answers others meanwhile)."""
        template = load_letter_template(self.letters or Path(), self.provider.name)
        pdf = await render_aside(template, letter_values(filing, ticket=ticket))
        return {
            "name": f"{ticket}-application.pdf",
            "content_type": "application/pdf",
            "data": base64.b64encode(pdf).decode(),
        }

    async def _export_records(self, p: dict[str, Any]) -> Result:
        files = await self._ask(lambda: self.provider.export_records(p["merchant_id"], p["serial"]))
        if not files:
            return "unavailable", {}
        # the CSVs, and the same as one XLSX; what the channel cannot carry: split or linked —
        # in a thread: a big export is seconds of work and disk the other chats need not wait on
        fitted = await asyncio.to_thread(lambda: self.fit.fit(p["channel"], with_workbook(files)))
        data: dict[str, Any] = {
            "files": [
                {
                    "name": f.name,
                    "content_type": f.content_type,
                    "data": base64.b64encode(f.data).decode(),
                }
                for f in fitted.files
            ]
        }
        if fitted.links:
            data["links"] = [{"name": k.name, "url": k.url, "size": k.size} for k in fitted.links]
            data["link_hours"] = max(1, round(self.fit.link_seconds / 3600))
        return "exported", data
