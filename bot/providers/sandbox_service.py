"""The sandbox provider as an HTTP service of its own (``posbot sandbox-provider``): the API a
real provider would offer, over the sandbox's terminals and its SQLite file.

    GET  /terminals/{serial}                                   the terminal, or 404
    GET  /merchants/{merchant_id}/terminals/{serial}/balance
    POST /merchants/{merchant_id}/terminals/{serial}/codes        text a one-time code
    POST /merchants/{merchant_id}/terminals/{serial}/codes/check  {"code", "key"} → verdict
    GET  /merchants/{merchant_id}/terminals/{serial}/records      the export, base64 files
    POST /requests          Idempotency-Key header: the same key files once, same ticket
    GET  /requests/{ticket}
    POST /requests/{ticket}/cancel

A refusal is 422 ``{"code", "message"}``. With a token, every call needs ``Authorization:
Bearer <token>``. The test controls under ``/_sandbox/``: ``faults`` (GET, POST switches),
``requests/{ticket}/step`` (review one stage on), ``filings`` (filings per idempotency key),
``webhooks/tick`` (deliver status changes now)."""

from __future__ import annotations

import base64
import hmac
import time
from collections import Counter
from dataclasses import asdict
from typing import Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from bot.errors import ProviderRejected
from bot.providers.base import Filing, RequestKind, RequestStatus
from bot.providers.sandbox import SandboxProvider
from bot.providers.sandbox_faults import Faults, Misbehaving
from bot.providers.sandbox_webhooks import WebhookSender


class CodeCheck(BaseModel):
    code: str
    key: str | None = None


class FilingBody(BaseModel):
    kind: RequestKind
    merchant_id: str
    serial: str
    phone: str
    reason: str = ""
    checklist: dict[str, str] = {}
    locale: str = "zh_CN"


def _status(status: RequestStatus) -> dict[str, Any]:
    return {"ticket": status.ticket, "state": status.state, "reason": status.reason}


def make_sandbox_app(
    provider: SandboxProvider,
    *,
    token: str | None = None,
    faults: Faults | None = None,
    webhooks: WebhookSender | None = None,
) -> Misbehaving:
    """The service's ASGI app. ``app.state`` (of the inner FastAPI app, ``.app``) holds the
    provider, the faults, the webhook sender and the filing counts."""
    faults = faults or Faults()
    http = FastAPI(title="posbot sandbox provider", docs_url=None, redoc_url=None)
    filings: Counter[str] = Counter()  # requests filed per idempotency key
    asked: Counter[str] = Counter()  # submit calls received per idempotency key
    http.state.provider, http.state.faults, http.state.webhooks = provider, faults, webhooks
    http.state.filings, http.state.asked = filings, asked

    def authorized(authorization: str | None = Header(default=None)) -> None:
        if token is not None and not (
            authorization and hmac.compare_digest(authorization, f"Bearer {token}")
        ):
            raise HTTPException(401, "a bearer token is needed")

    @http.exception_handler(ProviderRejected)
    async def rejected(_request: Request, exc: ProviderRejected) -> JSONResponse:
        return JSONResponse({"code": exc.code, "message": str(exc)}, status_code=422)

    api = [Depends(authorized)]
    terminal_path = "/merchants/{merchant_id}/terminals/{serial}"

    @http.get("/terminals/{serial}", dependencies=api)
    async def terminal(serial: str) -> dict[str, Any]:
        found = await provider._do_find_terminal(serial.strip().upper())
        if found is None:
            raise HTTPException(404, "no such terminal")
        return asdict(found)

    @http.get(terminal_path + "/balance", dependencies=api)
    async def balance(merchant_id: str, serial: str) -> dict[str, Any]:
        owed = await provider.balance(merchant_id, serial)
        return {k: str(v) if k != "pending_refunds" else v for k, v in asdict(owed).items()}

    @http.post(terminal_path + "/codes", status_code=202, dependencies=api)
    async def send_code(merchant_id: str, serial: str) -> dict[str, str]:
        await provider.send_code(merchant_id, serial)
        return {"sent": "if the terminal is theirs"}

    @http.post(terminal_path + "/codes/check", dependencies=api)
    async def check_code(merchant_id: str, serial: str, body: CodeCheck) -> dict[str, str]:
        verdict = await provider.check_code(merchant_id, serial, body.code, key=body.key)
        return {"verdict": verdict}

    @http.get(terminal_path + "/records", dependencies=api)
    async def records(merchant_id: str, serial: str) -> dict[str, Any]:
        files = await provider.export_records(merchant_id, serial)
        return {
            "files": [
                {
                    "name": f.name,
                    "content_type": f.content_type,
                    "data": base64.b64encode(f.data).decode(),
                }
                for f in files
            ]
        }

    @http.post("/requests", dependencies=api)
    async def submit(
        body: FilingBody, idempotency_key: str = Header(min_length=1, max_length=64)
    ) -> JSONResponse:
        asked[idempotency_key] += 1
        known = provider.ticket_for(idempotency_key)
        status = await provider.submit(Filing(idempotency_key=idempotency_key, **body.model_dump()))
        if known is None:
            filings[idempotency_key] += 1
            if webhooks is not None:
                webhooks.watch(status.ticket, status.state)
        return JSONResponse(_status(status), status_code=200 if known else 201)

    @http.get("/requests/{ticket}", dependencies=api)
    async def status(ticket: str) -> dict[str, Any]:
        return _status(await provider.status(ticket))

    @http.post("/requests/{ticket}/cancel", dependencies=api)
    async def cancel(ticket: str) -> dict[str, Any]:
        return _status(await provider.cancel(ticket))

    # -- test controls ------------------------------------------------------------------------

    @http.get("/_sandbox/faults")
    async def shown_faults() -> dict[str, object]:
        return faults.shown()

    @http.post("/_sandbox/faults")
    async def set_faults(changes: dict[str, Any]) -> dict[str, object]:
        try:
            faults.update(changes, time.monotonic())
        except (ValueError, TypeError) as exc:
            raise HTTPException(422, str(exc)) from exc
        return faults.shown()

    @http.post("/_sandbox/requests/{ticket}/step")
    async def step(ticket: str) -> dict[str, Any]:
        return _status(provider.step_review(ticket))

    @http.get("/_sandbox/filings")
    async def counted() -> dict[str, Any]:
        return {"filings": dict(filings), "asked": dict(asked), "total": provider.filed_in_all}

    @http.post("/_sandbox/webhooks/tick")
    async def tick() -> dict[str, Any]:
        if webhooks is None:
            raise HTTPException(404, "no webhook URL configured")
        await webhooks.tick()
        return {"pending": len(webhooks.pending), "delivered": len(webhooks.delivered)}

    return Misbehaving(http, faults)
