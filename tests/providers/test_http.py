"""The HTTP adapter against the sandbox service over 127.0.0.1: retries on 5xx and timeouts
with the same idempotency key (filed once), none on a refusal, the circuit breaker, and
provider files checked with file and line."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from bot.errors import ProviderFileErrors, ProviderRejected, ProviderUnavailable
from bot.providers.base import Filing
from bot.providers.breaker import CircuitOpen
from bot.providers.config import Auth, Breaker, Retries, load_provider_file
from bot.providers.sandbox_server import SandboxServer, loopback_socket
from bot.providers.signing import verify
from bot.settings import PROJECT
from tests.providers.sandbox_http import ENVIRON, TOKEN, http_provider, sandbox

FILING = Filing(
    idempotency_key="retry-key-000001",
    kind="deregister",
    merchant_id="102100058120001",
    serial="LKL8A2301234",
    phone="+8613800138000",
    reason="closing",
)
FAST = Retries(attempts=4, backoff_seconds=0.01, max_backoff_seconds=0.05)


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(sandbox(time.time), token=TOKEN) as running:
        yield running


async def faults(server: SandboxServer, **switches: object) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        (await http.post("/_sandbox/faults", json=switches)).raise_for_status()


async def test_5xx_then_success_files_once(server: SandboxServer) -> None:
    provider = http_provider(server.url, retries=FAST)
    await faults(server, fail_next=3, fail_status=503)
    status = await provider.submit(FILING)
    assert status.state == "submitted"
    assert provider.attempts == 4
    assert server.filings == {FILING.idempotency_key: 1}
    await provider.aclose()


async def test_a_timeout_after_filing_then_success_files_once(server: SandboxServer) -> None:
    provider = http_provider(server.url, retries=FAST, timeout_seconds=0.3)
    await faults(server, hang_next=2, hang_seconds=1.0)
    status = await provider.submit(FILING)  # filed on the first try; its answer lost twice
    assert provider.attempts == 3
    assert server.filings == {FILING.idempotency_key: 1}
    assert (await provider.status(status.ticket)).ticket == status.ticket
    await provider.aclose()


async def test_a_refusal_is_not_retried(server: SandboxServer) -> None:
    provider = http_provider(server.url, retries=FAST)
    stranger = Filing("stranger-key-0001", "deregister", "102100058120001", "NOPE", "+86138", "")
    with pytest.raises(ProviderRejected) as refused:
        await provider.submit(stranger)
    assert refused.value.code == "unknown_terminal" and provider.attempts == 1
    await provider.aclose()


async def test_the_breaker_opens_then_lets_one_call_try(server: SandboxServer) -> None:
    provider = http_provider(
        server.url,
        retries=Retries(attempts=2, backoff_seconds=0.01, max_backoff_seconds=0.01),
        breaker=Breaker(failures=2, reset_seconds=0.3),
    )
    await faults(server, down_for_seconds=0.4)
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            await provider.submit(FILING)
    assert provider.attempts == 4
    began = time.monotonic()
    with pytest.raises(CircuitOpen) as opened:  # told at once, the provider not asked
        await provider.submit(FILING)
    assert time.monotonic() - began < 0.05 and provider.attempts == 4
    assert opened.value.retry_after is not None and opened.value.retry_after <= 0.3
    time.sleep(0.45)
    assert (await provider.submit(FILING)).state == "submitted"  # half open, then closed
    assert provider.breaker.state == "closed"
    assert server.filings == {FILING.idempotency_key: 1}
    await provider.aclose()


async def test_nobody_listening_is_unavailable_not_a_crash() -> None:
    provider = http_provider("http://127.0.0.1:9", retries=FAST)
    with pytest.raises(ProviderUnavailable):
        await provider.status("SBX-2026-000100")
    await provider.aclose()


def test_the_sandbox_file_loads() -> None:
    config = load_provider_file(PROJECT / "providers" / "sandbox.yaml", ENVIRON)
    assert config.name == "sandbox" and config.base_url == ENVIRON["POSBOT_SANDBOX_URL"]
    assert config.webhook is not None and config.auth.kind == "bearer"


def test_a_provider_file_with_mistakes_is_refused_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(
        "base_url: ${ACME_URL}\n"  # 1: not set
        "auth:\n"
        "  kind: bearer\n"  # 3: no token_env
        "retries:\n"
        "  attempts: 0\n"  # 5: out of range
        "endpoints:\n"
        "  find_terminal: GET /terminals/{serial}\n"
        "  balance: /balance\n"  # 8: no method
        "  submit: POST /requests/{ticket}\n"  # 9: a placeholder submit cannot fill
        "  status: GET /requests/{ticket}\n"
        "states:\n"
        "  DONE: finished\n",  # 12: not a posbot state
        encoding="utf-8",
    )
    with pytest.raises(ProviderFileErrors) as refused:
        load_provider_file(path, {})
    shown = str(refused.value).splitlines()
    assert any(f"{path}:1: base_url: ${{ACME_URL}} is not set" in s for s in shown), shown
    assert any(s.startswith(f"{path}:8: endpoints.balance") for s in shown), shown
    assert any(s.startswith(f"{path}:9: endpoints.submit: unknown placeholder") for s in shown)
    assert any(s.startswith(f"{path}:5: retries.attempts") for s in shown), shown
    assert any(s.startswith(f"{path}:2: auth") for s in shown), shown


def test_a_provider_file_that_is_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nendpoints: [\n", encoding="utf-8")
    with pytest.raises(ProviderFileErrors) as refused:
        load_provider_file(path, {})
    assert str(refused.value).startswith(f"{path}:3: not valid YAML")


async def test_hmac_signed_requests_are_verifiable_by_the_provider() -> None:
    """auth: hmac — each request carries X-Timestamp and X-Signature over "METHOD path\\nbody";
    a provider's own endpoint (here a loopback FastAPI app) can check them."""
    seen: list[str] = []
    api = FastAPI()

    @api.get("/requests/{ticket}")
    async def status(ticket: str, request: Request) -> dict[str, str]:
        signed = f"GET {request.url.path}\n".encode() + await request.body()
        seen.append(
            verify(
                "hmac-secret-for-tests",
                request.headers.get("x-timestamp"),
                request.headers.get("x-signature"),
                signed,
                now=time.time(),
            )
        )
        return {"ticket": ticket, "state": "under_review"}

    sock = loopback_socket()
    server = uvicorn.Server(uvicorn.Config(api, log_level="warning", log_config=None))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    provider = http_provider(url, auth=Auth(kind="hmac", secret_env="ACME_SECRET"))
    provider._secret = "hmac-secret-for-tests"  # as ACME_SECRET would set it
    try:
        assert (await provider.status("T-1")).state == "under_review"
        provider._secret = "another-secret"
        await provider.status("T-1")
    finally:
        server.should_exit = True
        await task
        sock.close()
        await provider.aclose()
    assert seen == ["ok", "bad_signature"]
