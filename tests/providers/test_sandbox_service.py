"""The sandbox as an HTTP service: its API over a real socket, idempotent filing counted per
key, review stepped by the test, signed webhooks, and the switches to misbehave."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from bot.providers.sandbox_server import SandboxServer
from bot.providers.signing import verify
from tests.providers.sandbox_http import TOKEN, WEBHOOK_SECRET, receiving, sandbox

CLEAN = ("102100058120001", "LKL8A2301234", "+8613800138000")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def filing_body() -> dict[str, str]:
    merchant_id, serial, phone = CLEAN
    return {
        "kind": "deregister",
        "merchant_id": merchant_id,
        "serial": serial,
        "phone": phone,
        "reason": "closing",
    }


@pytest.fixture
async def server() -> SandboxServer:
    async with SandboxServer(sandbox(Clock(), fixed_code="246810"), token=TOKEN) as running:
        yield running  # type: ignore[misc]


def client(server: SandboxServer, token: str | None = TOKEN) -> httpx.AsyncClient:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return httpx.AsyncClient(base_url=server.url, headers=headers, timeout=5)


async def test_the_api_answers_over_http(server: SandboxServer) -> None:
    merchant_id, serial, _ = CLEAN
    async with client(server) as http:
        found = (await http.get(f"/terminals/{serial.lower()}")).json()
        assert found["merchant_id"] == merchant_id and found["state"] == "active"
        assert (await http.get("/terminals/NOPE")).status_code == 404
        owed = (await http.get("/merchants/102100058120002/terminals/PAXS90778899/balance")).json()
        assert owed["unsettled"] == "1280.50" and owed["pending_refunds"] == 1
        base = f"/merchants/{merchant_id}/terminals/{serial}"
        assert (await http.post(base + "/codes")).status_code == 202
        wrong = await http.post(base + "/codes/check", json={"code": "000000", "key": "c1"})
        assert wrong.json() == {"verdict": "wrong"}
        right = await http.post(base + "/codes/check", json={"code": "246810", "key": "c1"})
        assert right.json() == {"verdict": "ok"}
        files = (await http.get(base + "/records")).json()["files"]
        assert files[0]["name"] == f"{serial}-daily-reports.csv"


async def test_a_token_is_needed(server: SandboxServer) -> None:
    async with client(server, token=None) as http:
        assert (await http.get("/terminals/LKL8A2301234")).status_code == 401
    async with client(server, token="wrong") as http:
        assert (await http.get("/terminals/LKL8A2301234")).status_code == 401


async def test_the_same_key_files_once_and_returns_the_same_ticket(server: SandboxServer) -> None:
    async with client(server) as http:
        headers = {"Idempotency-Key": "key-0001-abcdef"}
        first = await http.post("/requests", json=filing_body(), headers=headers)
        again = await http.post("/requests", json=filing_body(), headers=headers)
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["ticket"] == again.json()["ticket"]
        counted = (await http.get("/_sandbox/filings")).json()
        assert counted["filings"] == {"key-0001-abcdef": 1}
        assert counted["asked"] == {"key-0001-abcdef": 2}
        other = await http.post(
            "/requests", json=filing_body(), headers={"Idempotency-Key": "key-0002-abcdef"}
        )
        assert other.status_code == 422 and other.json()["code"] == "open_request"
        missing = await http.post("/requests", json=filing_body())
        assert missing.status_code == 422  # no Idempotency-Key: refused


async def test_review_is_stepped_by_the_test_and_cancel_works(server: SandboxServer) -> None:
    async with client(server) as http:
        ticket = (
            await http.post("/requests", json=filing_body(), headers={"Idempotency-Key": "k" * 16})
        ).json()["ticket"]
        states = [(await http.get(f"/requests/{ticket}")).json()["state"]]
        for _ in range(3):
            states.append((await http.post(f"/_sandbox/requests/{ticket}/step")).json()["state"])
        assert states == ["submitted", "under_review", "approved", "completed"]
        done = (await http.post(f"/requests/{ticket}/cancel")).json()
        assert done["state"] == "completed"  # final stays final
        assert (await http.get("/requests/SBX-1-1")).status_code == 422


async def test_fail_hang_slow_and_down(server: SandboxServer) -> None:
    async with client(server) as http:
        await http.post("/_sandbox/faults", json={"fail_next": 2, "fail_status": 502})
        codes = [(await http.get("/terminals/LKL8A2301234")).status_code for _ in range(3)]
        assert codes == [502, 502, 200]
        await http.post("/_sandbox/faults", json={"hang_next": 1, "hang_seconds": 1.0})
        with pytest.raises(httpx.ReadTimeout):
            await http.post(
                "/requests",
                json=filing_body(),
                headers={"Idempotency-Key": "hang-key-0001"},
                timeout=0.3,
            )
        # the filing was done, its answer lost: asked again, the same ticket, filed once
        again = await http.post(
            "/requests", json=filing_body(), headers={"Idempotency-Key": "hang-key-0001"}
        )
        assert again.status_code == 200
        assert (await http.get("/_sandbox/filings")).json()["filings"] == {"hang-key-0001": 1}
        await http.post("/_sandbox/faults", json={"slow_seconds": 0.2})
        began = time.monotonic()
        await http.get("/terminals/LKL8A2301234")
        assert time.monotonic() - began >= 0.2
        await http.post("/_sandbox/faults", json={"slow_seconds": 0, "down_for_seconds": 0.3})
        assert (await http.get("/terminals/LKL8A2301234")).status_code == 503
        time.sleep(0.3)
        assert (await http.get("/terminals/LKL8A2301234")).status_code == 200
        refused = await http.post("/_sandbox/faults", json={"no_such_switch": 1})
        assert refused.status_code == 422


async def test_webhooks_are_signed_and_can_misbehave() -> None:
    clock = Clock()
    async with receiving() as receiver:
        server = SandboxServer(
            sandbox(clock),
            webhook_url=receiver.url,
            webhook_secret=WEBHOOK_SECRET,
            webhook_every=3600,  # only the test's ticks
        )
        async with server, httpx.AsyncClient(base_url=server.url) as http:
            await http.post("/_sandbox/faults", json={"duplicate_webhooks": True})
            ticket = (
                await http.post(
                    "/requests", json=filing_body(), headers={"Idempotency-Key": "w" * 16}
                )
            ).json()["ticket"]
            await http.post(f"/_sandbox/requests/{ticket}/step")
            await http.post("/_sandbox/webhooks/tick")
            await http.post("/_sandbox/faults", json={"duplicate_webhooks": False})
            await http.post("/_sandbox/faults", json={"reorder_webhooks": True})
            for _ in range(2):
                await http.post(f"/_sandbox/requests/{ticket}/step")
                await http.post("/_sandbox/webhooks/tick")
    events = [json.loads(body) for _, body in receiver.got]
    assert [(e["state"], e["sequence"]) for e in events] == [
        ("under_review", 1),
        ("under_review", 1),  # the duplicate
        ("completed", 3),  # out of order: the newer first
        ("approved", 2),
    ]
    for headers, body in receiver.got:
        stamp, signature = headers["x-timestamp"], headers["x-signature"]
        assert verify(WEBHOOK_SECRET, stamp, signature, body, now=time.time()) == "ok"
        assert verify("another-secret", stamp, signature, body, now=time.time()) != "ok"
