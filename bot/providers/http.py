"""The HTTP provider: a provider's own API, described by its provider file
(``bot.providers.config``), spoken with httpx.

Retries with exponential backoff and jitter on 5xx, 429, timeouts and connection errors only —
never on a refusal — and a submission carries the same ``Idempotency-Key`` on every retry, so it
files once. A circuit breaker stops calls to a provider that keeps failing. Vendor errors become
ours here: ``ProviderUnavailable`` (transient), ``ProviderRejected`` (the provider said no)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from bot.errors import ProviderRejected, ProviderUnavailable
from bot.providers.base import (
    Balance,
    CodeVerdict,
    ExportedFile,
    Filing,
    Provider,
    RequestStatus,
    Terminal,
)
from bot.providers.breaker import CircuitBreaker
from bot.providers.config import ProviderFile
from bot.providers.signing import signed_headers
from bot.request_states import REQUEST_STATES as STATES

CONNECTIONS = 32  # to one provider at once: a burst of filings waits its turn here

TERMINAL_FIELDS = (
    "merchant_id",
    "serial",
    "registered_phone",
    "state",
    "merchant_name",
    "model",
    "open_ticket",
    "closed_ticket",
)


class Transient(ProviderUnavailable):
    """Worth another try now: 5xx, 429, a timeout, no connection."""


class HttpProvider(Provider):
    retries_itself = True  # the effect runner does not retry on top

    def __init__(
        self,
        config: ProviderFile,
        *,
        environ: Mapping[str, str],
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.name = config.name
        self.merchant_id_pattern = config.merchant_id_pattern
        self._fields = dict(config.fields)
        self._theirs = {theirs: ours for ours, theirs in self._fields.items()}
        self._token = environ.get(config.auth.token_env or "", "")
        self._secret = environ.get(config.auth.secret_env or "", "")
        webhook = config.webhook
        self.webhook_secret = "" if webhook is None else environ.get(webhook.secret_env, "")
        self.breaker = CircuitBreaker(config.breaker.failures, config.breaker.reset_seconds)
        self.base_url = base_url or config.base_url
        self.attempts = 0  # HTTP calls made, retries included: for tests and the bench
        # the timeout is the provider's: a call waiting for one of our own connections has not
        # reached it yet (under a burst of filings that wait must not count, or every call
        # times out and is tried again, a retry storm)
        self._client = httpx.AsyncClient(
            base_url=base_url or config.base_url,
            timeout=httpx.Timeout(config.timeout_seconds, pool=None),
            limits=httpx.Limits(max_connections=CONNECTIONS),
            transport=transport,
            headers={"Accept": "application/json"},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- the wire -----------------------------------------------------------------------------

    def _out(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {self._fields.get(k, k): v for k, v in data.items()}

    def _in(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {self._theirs.get(k, k): v for k, v in data.items()}

    async def _call(
        self,
        endpoint: str,
        params: Mapping[str, str],
        body: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        missing_ok: bool = False,
    ) -> dict[str, Any] | None:
        method, template = self.config.endpoint(endpoint)
        path = template.format(**{k: httpx.URL(v).raw_path.decode() for k, v in params.items()})
        content = b"" if body is None else json.dumps(self._out(body)).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key  # the same on every retry
        self.breaker.before()
        retries = self.config.retries
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(retries.attempts),
                wait=wait_exponential_jitter(
                    multiplier=retries.backoff_seconds, max=retries.max_backoff_seconds
                ),
                retry=retry_if_exception_type(Transient),
                reraise=True,
            ):
                with attempt:
                    answer = await self._once(method, path, content, headers)
        except Transient:
            self.breaker.failed_once()
            raise
        self.breaker.succeeded()
        if answer.status_code == 404 and missing_ok:
            return None
        if answer.status_code in (401, 403):
            raise ProviderUnavailable(
                f"the provider refused our credentials ({answer.status_code})"
            )
        if answer.status_code >= 400:
            found = _json(answer)
            code = str(found.get("code") or f"http_{answer.status_code}")
            raise ProviderRejected(str(found.get("message") or answer.reason_phrase), code=code)
        return self._in(_json(answer))

    async def _once(
        self, method: str, path: str, content: bytes, headers: dict[str, str]
    ) -> httpx.Response:
        headers = {**headers, **self._auth(method, path, content)}
        self.attempts += 1
        try:
            answer = await self._client.request(method, path, content=content, headers=headers)
        except httpx.TimeoutException as exc:
            raise Transient(f"timed out: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise Transient(f"cannot reach the provider: {type(exc).__name__}") from exc
        if answer.status_code >= 500 or answer.status_code == 429:
            after = answer.headers.get("Retry-After", "")
            raise Transient(
                f"the provider answered {answer.status_code}",
                retry_after=float(after) if after.isdigit() else None,
            )
        return answer

    def _auth(self, method: str, path: str, content: bytes) -> dict[str, str]:
        kind = self.config.auth.kind
        if kind == "bearer":
            return {"Authorization": f"Bearer {self._token}"}
        if kind == "hmac":
            signed = f"{method} {path}\n".encode() + content
            return signed_headers(self._secret, time.time(), signed)
        return {}

    # -- the ports ----------------------------------------------------------------------------

    async def _do_find_terminal(self, serial: str) -> Terminal | None:
        found = await self._call("find_terminal", {"serial": serial}, missing_ok=True)
        if found is None:
            return None
        return Terminal(**{k: found[k] for k in TERMINAL_FIELDS if k in found})

    async def _do_balance(self, merchant_id: str, serial: str) -> Balance:
        found = await self._call("balance", {"merchant_id": merchant_id, "serial": serial}) or {}
        return Balance(
            unsettled=Decimal(str(found.get("unsettled", "0"))),
            pending_refunds=int(found.get("pending_refunds", 0)),
            pending_refund_amount=Decimal(str(found.get("pending_refund_amount", "0"))),
            deposit=Decimal(str(found.get("deposit", "0"))),
            fees=Decimal(str(found.get("fees", "0"))),
            currency=str(found.get("currency", "CNY")),
        )

    async def _do_export_records(self, merchant_id: str, serial: str) -> list[ExportedFile]:
        if "export_records" not in self.config.endpoints:
            return []
        found = await self._call("export_records", {"merchant_id": merchant_id, "serial": serial})
        return [
            ExportedFile(f["name"], f["content_type"], base64.b64decode(f["data"]))
            for f in (found or {}).get("files", [])
        ]

    async def _do_send_code(self, merchant_id: str, serial: str) -> None:
        await self._call("send_code", {"merchant_id": merchant_id, "serial": serial}, {})

    async def _do_check_code(
        self, merchant_id: str, serial: str, code: str, key: str | None
    ) -> CodeVerdict:
        found = await self._call(
            "check_code",
            {"merchant_id": merchant_id, "serial": serial},
            {"code": code, "key": key},
        )
        verdict = (found or {}).get("verdict")
        if verdict not in ("ok", "wrong", "expired"):
            raise ProviderUnavailable(f"the provider's verdict {verdict!r} is not understood")
        return verdict  # type: ignore[no-any-return]

    async def _do_submit(self, filing: Filing) -> RequestStatus:
        body = {
            "kind": filing.kind,
            "merchant_id": filing.merchant_id,
            "serial": filing.serial,
            "phone": filing.phone,
            "reason": filing.reason,
            "checklist": dict(filing.checklist),
            "locale": filing.locale,
        }
        found = await self._call("submit", {}, body, idempotency_key=filing.idempotency_key)
        return self._status(found)

    async def _do_status(self, ticket: str) -> RequestStatus:
        return self._status(await self._call("status", {"ticket": ticket}))

    async def _do_cancel(self, ticket: str) -> RequestStatus:
        return self._status(await self._call("cancel", {"ticket": ticket}, {}))

    def status_of(self, data: Mapping[str, Any]) -> RequestStatus:
        """A status the provider sent on its own (a webhook's body), in posbot's words."""
        return self._status(self._in(data))

    def _status(self, found: Mapping[str, Any] | None) -> RequestStatus:
        found = found or {}
        state = str(found.get("state"))
        state = self.config.states.get(state, state)
        if "ticket" not in found or state not in STATES:
            raise ProviderUnavailable(f"the provider's answer is not understood: {dict(found)}")
        return RequestStatus(str(found["ticket"]), state, found.get("reason"))


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        found = answer.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
