"""The provider contract: every implementation must pass these, through the public methods.

To run the contract against another provider, write a ``make_<name>() -> Subject`` and add one
``pytest.param(make_<name>, id="<name>")`` line to ``IMPLEMENTATIONS``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from bot.errors import ProviderRejected
from bot.providers.base import (
    Filing,
    Provider,
    RequestKind,
    RequestStatus,
    Terminal,
)
from bot.providers.sandbox import CODE_TTL_SECONDS, DEMO_TERMINALS, SandboxProvider
from bot.providers.sandbox_server import SandboxServer
from bot.request_states import FINAL_STATES
from tests.providers.sandbox_http import TOKEN, http_provider, threaded


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Subject:
    """One implementation under test, with what the contract needs to drive it."""

    provider: Provider
    clock: FakeClock
    active: Terminal  # clean, active, no open request, review ends "completed"
    deregistered: Terminal  # deregistered, with ``closed_ticket``
    last_code: Callable[[str], str | None]  # phone -> last code texted to it
    review_step_seconds: float  # advancing this far moves review at least one stage
    code_ttl_seconds: float


def make_sandbox() -> Subject:
    clock = FakeClock()
    provider = SandboxProvider(clock=clock, review_step_seconds=2.0)
    active = Terminal("102100099990001", "CONTRACT0001", "+8613812345678", model="Contract")
    provider.add_terminal(active)
    deregistered = next(t for t in DEMO_TERMINALS if t.state == "deregistered")

    def last_code(phone: str) -> str | None:
        return next((c for p, c in reversed(provider.sent_codes) if p == phone), None)

    return Subject(provider, clock, active, deregistered, last_code, 2.0, CODE_TTL_SECONDS)


@contextmanager
def make_http() -> Iterator[Subject]:
    """The HTTP adapter, over a real socket, at the sandbox service (in a thread of its own)."""
    clock = FakeClock()
    sandbox = SandboxProvider(clock=clock, review_step_seconds=2.0)
    active = Terminal("102100099990001", "CONTRACT0001", "+8613812345678", model="Contract")
    sandbox.add_terminal(active)
    deregistered = next(t for t in DEMO_TERMINALS if t.state == "deregistered")

    def last_code(phone: str) -> str | None:
        return next((c for p, c in reversed(sandbox.sent_codes) if p == phone), None)

    with threaded(SandboxServer(sandbox, token=TOKEN)) as server:
        provider = http_provider(server.url)
        yield Subject(provider, clock, active, deregistered, last_code, 2.0, CODE_TTL_SECONDS)


IMPLEMENTATIONS = [
    pytest.param(make_sandbox, id="sandbox"),
    pytest.param(make_http, id="http"),
]

ORDER = ("submitted", "under_review", "approved", "needs_info", "completed")


def filing(t: Terminal, key: str = "key-1", kind: RequestKind = "deregister") -> Filing:
    return Filing(
        idempotency_key=key,
        kind=kind,
        merchant_id=t.merchant_id,
        serial=t.serial,
        phone=t.registered_phone,
        reason="shop closing",
    )


class ProviderContract:
    __test__ = True

    @pytest.fixture(params=IMPLEMENTATIONS)
    async def subject(self, request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
        made = request.param()
        if isinstance(made, Subject):
            yield made
            return
        with made as subject:
            yield subject
            await subject.provider.aclose()  # type: ignore[attr-defined]  # in the test's loop

    @pytest.fixture
    def provider(self, subject: Subject) -> Provider:
        return subject.provider

    # -- lookup -------------------------------------------------------------------------------

    async def test_lookup_ok(self, provider: Provider, subject: Subject) -> None:
        t = subject.active
        found = await provider.lookup(t.merchant_id, t.serial, t.registered_phone)
        assert found.verdict == "ok"
        assert found.terminal is not None
        assert found.terminal.serial == t.serial
        assert found.terminal.merchant_id == t.merchant_id
        assert found.ticket is None

    @pytest.mark.parametrize("wrong", ["merchant", "serial", "phone"])
    async def test_lookup_no_match_gives_no_hint(
        self, provider: Provider, subject: Subject, wrong: str
    ) -> None:
        t = subject.active
        merchant = "999999999999999" if wrong == "merchant" else t.merchant_id
        serial = "NOSUCHSERIAL" if wrong == "serial" else t.serial
        phone = "+8613999999999" if wrong == "phone" else t.registered_phone
        found = await provider.lookup(merchant, serial, phone)
        assert found == type(found)("no_match")  # same verdict, no terminal, no ticket

    async def test_lookup_deregistered_carries_ticket(
        self, provider: Provider, subject: Subject
    ) -> None:
        t = subject.deregistered
        found = await provider.lookup(t.merchant_id, t.serial, t.registered_phone)
        assert found.verdict == "deregistered"
        assert found.ticket == t.closed_ticket
        assert found.ticket

    async def test_lookup_open_request_after_submit(
        self, provider: Provider, subject: Subject
    ) -> None:
        t = subject.active
        filed = await provider.submit(filing(t))
        found = await provider.lookup(t.merchant_id, t.serial, t.registered_phone)
        assert found.verdict == "open_request"
        assert found.ticket == filed.ticket

    # -- balance and export -------------------------------------------------------------------

    async def test_balance_of_clean_terminal_is_clear(
        self, provider: Provider, subject: Subject
    ) -> None:
        balance = await provider.balance(subject.active.merchant_id, subject.active.serial)
        assert balance.is_clear

    async def test_export_records_are_named_files(
        self, provider: Provider, subject: Subject
    ) -> None:
        files = await provider.export_records(subject.active.merchant_id, subject.active.serial)
        assert len({f.name for f in files}) == len(files)
        for f in files:
            assert f.name and f.content_type and f.data

    # -- requests -----------------------------------------------------------------------------

    async def test_submit_is_idempotent(self, provider: Provider, subject: Subject) -> None:
        t = subject.active
        first = await provider.submit(filing(t, key="same"))
        again = await provider.submit(filing(t, key="same"))
        assert first.state == "submitted"
        assert again.ticket == first.ticket
        assert again.state == first.state
        with pytest.raises(ProviderRejected) as rejected:
            await provider.submit(filing(t, key="another"))
        assert rejected.value.code == "open_request"

    async def test_submit_refuses_deregistered_and_unknown(
        self, provider: Provider, subject: Subject
    ) -> None:
        with pytest.raises(ProviderRejected) as rejected:
            await provider.submit(filing(subject.deregistered))
        assert rejected.value.code == "deregistered"
        stranger = Terminal("102100000000000", "NOSUCHSERIAL", "+8613999999999")
        with pytest.raises(ProviderRejected) as rejected:
            await provider.submit(filing(stranger, key="k2"))
        assert rejected.value.code == "unknown_terminal"

    async def test_status_progresses_to_completed(
        self, provider: Provider, subject: Subject
    ) -> None:
        t = subject.active
        filed = await provider.submit(filing(t))
        seen = [filed.state]
        for _ in range(20):
            subject.clock.advance(subject.review_step_seconds)
            status = await provider.status(filed.ticket)
            assert status.ticket == filed.ticket
            seen.append(status.state)
            if status.is_final:
                break
        assert seen[-1] == "completed"
        positions = [ORDER.index(s) for s in seen]
        assert positions == sorted(positions), seen
        found = await provider.lookup(t.merchant_id, t.serial, t.registered_phone)
        assert found.verdict == "deregistered"
        assert found.ticket == filed.ticket
        # the idempotent replay still answers with the same, now final, request
        assert await provider.submit(filing(t)) == await provider.status(filed.ticket)

    async def test_status_of_unknown_ticket(self, provider: Provider) -> None:
        with pytest.raises(ProviderRejected) as rejected:
            await provider.status("NO-SUCH-TICKET")
        assert rejected.value.code == "unknown_ticket"

    async def test_cancel(self, provider: Provider, subject: Subject) -> None:
        t = subject.active
        filed = await provider.submit(filing(t))
        cancelled = await provider.cancel(filed.ticket)
        assert cancelled.state == "cancelled"
        assert cancelled.is_final
        assert cancelled.reason is None
        assert await provider.status(filed.ticket) == cancelled
        subject.clock.advance(10 * subject.review_step_seconds)
        assert (await provider.status(filed.ticket)).state == "cancelled"
        found = await provider.lookup(t.merchant_id, t.serial, t.registered_phone)
        assert found.verdict == "ok"  # a cancelled request no longer blocks a new one
        assert (await provider.submit(filing(t, key="k2"))).ticket != filed.ticket

    async def test_cancel_leaves_final_request_unchanged(
        self, provider: Provider, subject: Subject
    ) -> None:
        filed = await provider.submit(filing(subject.active))
        subject.clock.advance(10 * subject.review_step_seconds)
        done = await provider.status(filed.ticket)
        assert done.state in FINAL_STATES
        assert await provider.cancel(filed.ticket) == done

    # -- codes --------------------------------------------------------------------------------

    async def _send(self, provider: Provider, subject: Subject) -> str:
        t = subject.active
        await provider.send_code(t.merchant_id, t.serial)
        code = subject.last_code(t.registered_phone)
        assert code is not None
        assert re.fullmatch(r"\d{6}", code)
        return code

    async def test_code_ok_then_consumed(self, provider: Provider, subject: Subject) -> None:
        t = subject.active
        code = await self._send(provider, subject)
        assert await provider.check_code(t.merchant_id, t.serial, f" {code} ") == "ok"
        assert await provider.check_code(t.merchant_id, t.serial, code) == "expired"

    async def test_code_wrong(self, provider: Provider, subject: Subject) -> None:
        t = subject.active
        code = await self._send(provider, subject)
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        assert await provider.check_code(t.merchant_id, t.serial, wrong) == "wrong"
        assert await provider.check_code(t.merchant_id, t.serial, code) == "ok"

    async def test_code_expired(self, provider: Provider, subject: Subject) -> None:
        t = subject.active
        code = await self._send(provider, subject)
        subject.clock.advance(subject.code_ttl_seconds + 1)
        assert await provider.check_code(t.merchant_id, t.serial, code) == "expired"

    async def test_code_none_sent_is_expired(self, provider: Provider, subject: Subject) -> None:
        t = subject.active
        assert await provider.check_code(t.merchant_id, t.serial, "123456") == "expired"

    async def test_new_code_replaces_old(self, provider: Provider, subject: Subject) -> None:
        t = subject.active
        first = await self._send(provider, subject)
        second = await self._send(provider, subject)
        if first != second:
            assert await provider.check_code(t.merchant_id, t.serial, first) == "wrong"
        assert await provider.check_code(t.merchant_id, t.serial, second) == "ok"

    async def test_send_code_to_unknown_terminal_is_silent(
        self, provider: Provider, subject: Subject
    ) -> None:
        await provider.send_code("999999999999999", subject.active.serial)
        assert subject.last_code(subject.active.registered_phone) is None


async def test_a_vendor_error_reaches_posbot_as_provider_unavailable() -> None:
    from bot.errors import ProviderUnavailable

    class Broken(SandboxProvider):
        async def _do_status(self, ticket: str) -> RequestStatus:
            raise ConnectionResetError("peer went away")

    with pytest.raises(ProviderUnavailable, match="ConnectionResetError") as caught:
        await Broken().status("SBX-2026-000003")
    assert isinstance(caught.value.__cause__, ConnectionResetError)
