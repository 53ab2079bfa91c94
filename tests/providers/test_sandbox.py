"""What is particular to the sandbox: its demo data, scripted reviews, codes and exports."""

from __future__ import annotations

import csv
import io
import logging
import random
import re
from decimal import Decimal
from pathlib import Path

import phonenumbers
import pytest

from bot.errors import ProviderRejected
from bot.providers.base import Balance, Filing, RequestKind, Terminal
from bot.providers.sandbox import DEMO_TERMINALS, SandboxProvider
from bot.validation import mask_phone


class FakeClock:
    def __init__(self, now: float = 50.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def demo(serial: str) -> Terminal:
    return next(t for t in DEMO_TERMINALS if t.serial == serial)


def filing(t: Terminal, key: str = "k1", kind: RequestKind = "deregister") -> Filing:
    return Filing(
        key,
        kind,
        t.merchant_id,
        t.serial,
        t.registered_phone,
        "moving",
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> SandboxProvider:
    return SandboxProvider(clock=clock, review_step_seconds=2.0)


# -- demo data ------------------------------------------------------------------------------


def test_demo_rows() -> None:
    assert [(t.merchant_id, t.serial, t.registered_phone) for t in DEMO_TERMINALS] == [
        ("102100058120001", "LKL8A2301234", "+8613800138000"),
        ("102100058120002", "PAXS90778899", "+8613900139000"),
        ("102100058120003", "NLD900112233", "+8613700137000"),
        ("102100058120004", "SZZT00445566", "+8613600136000"),
        ("102100058120005", "LDIA00998877", "+8613500135000"),
    ]
    for t in DEMO_TERMINALS:
        assert re.fullmatch(r"\d{15}", t.merchant_id)
        assert phonenumbers.is_valid_number(phonenumbers.parse(t.registered_phone))
    first = demo("LKL8A2301234")
    assert (first.model, first.merchant_name) == ("Lakala A8", "示例便利店")
    assert demo("PAXS90778899").model == "PAX S90"


async def test_demo_lookups(sandbox: SandboxProvider) -> None:
    verdicts = {
        t.serial: (await sandbox.lookup(t.merchant_id, t.serial, t.registered_phone)).verdict
        for t in DEMO_TERMINALS
    }
    assert verdicts == {
        "LKL8A2301234": "ok",
        "PAXS90778899": "ok",
        "NLD900112233": "deregistered",
        "SZZT00445566": "ok",
        "LDIA00998877": "ok",
    }
    past = await sandbox.status("SBX-2026-000003")
    assert past.state == "completed"


async def test_demo_balances(sandbox: SandboxProvider) -> None:
    owed = await sandbox.balance("102100058120002", "PAXS90778899")
    assert owed == Balance(
        unsettled=Decimal("1280.50"),
        pending_refunds=1,
        pending_refund_amount=Decimal("86.00"),
        deposit=Decimal("199.00"),
    )
    assert not owed.is_clear
    assert await sandbox.balance("102100058120001", "LKL8A2301234") == Balance()
    # another merchant's terminal: nothing revealed
    assert await sandbox.balance("102100058120001", "PAXS90778899") == Balance()


# -- review scripts -------------------------------------------------------------------------


async def test_rejected_path(sandbox: SandboxProvider, clock: FakeClock) -> None:
    t = demo("SZZT00445566")
    filed = await sandbox.submit(filing(t))
    assert filed.state == "submitted"
    clock.now += 2.0
    assert (await sandbox.status(filed.ticket)).state == "under_review"
    clock.now += 2.0
    rejected = await sandbox.status(filed.ticket)
    assert rejected.state == "rejected"
    assert rejected.is_final
    assert rejected.reason == "合同最低使用期未满 / minimum contract term not yet over"
    clock.now += 100.0
    assert await sandbox.status(filed.ticket) == rejected
    found = await sandbox.lookup(t.merchant_id, t.serial, t.registered_phone)
    assert found.verdict == "ok"
    assert found.terminal is not None
    assert found.terminal.state == "active"


async def test_needs_info_path_stays(sandbox: SandboxProvider, clock: FakeClock) -> None:
    t = demo("LDIA00998877")
    filed = await sandbox.submit(filing(t))
    clock.now += 4.0
    status = await sandbox.status(filed.ticket)
    assert status.state == "needs_info"
    assert status.reason == "请补充营业执照照片 / business licence photo needed"
    assert not status.is_final
    clock.now += 1000.0
    assert await sandbox.status(filed.ticket) == status
    found = await sandbox.lookup(t.merchant_id, t.serial, t.registered_phone)
    assert (found.verdict, found.ticket) == ("open_request", filed.ticket)
    assert (await sandbox.cancel(filed.ticket)).state == "cancelled"


async def test_exact_schedule(sandbox: SandboxProvider, clock: FakeClock) -> None:
    filed = await sandbox.submit(filing(demo("LKL8A2301234")))
    assert re.fullmatch(r"SBX-\d{4}-000100", filed.ticket)
    states = []
    for at in (1.9, 2.0, 3.9, 4.0, 5.9, 6.0):
        clock.now = 50.0 + at
        states.append((await sandbox.status(filed.ticket)).state)
    assert states == [
        "submitted",
        "under_review",
        "under_review",
        "approved",
        "approved",
        "completed",
    ]


async def test_zero_step_is_final_at_once(clock: FakeClock) -> None:
    sandbox = SandboxProvider(clock=clock, review_step_seconds=0)
    t = demo("LKL8A2301234")
    assert (await sandbox.submit(filing(t))).state == "completed"
    found = await sandbox.lookup(t.merchant_id, t.serial, t.registered_phone)
    assert found.verdict == "deregistered"
    rejected = await sandbox.submit(filing(demo("SZZT00445566"), key="k2"))
    assert rejected.state == "rejected"


async def test_completed_suspend_suspends(sandbox: SandboxProvider, clock: FakeClock) -> None:
    t = demo("LKL8A2301234")
    filed = await sandbox.submit(filing(t, kind="suspend"))
    clock.now += 6.0
    assert (await sandbox.status(filed.ticket)).state == "completed"
    found = await sandbox.lookup(t.merchant_id, t.serial, t.registered_phone)
    assert found.verdict == "ok"
    assert found.terminal is not None
    assert found.terminal.state == "suspended"
    assert found.terminal.closed_ticket is None


async def test_tickets_count_up_and_cancel_unknown(sandbox: SandboxProvider) -> None:
    a = await sandbox.submit(filing(demo("LKL8A2301234"), key="a"))
    b = await sandbox.submit(filing(demo("PAXS90778899"), key="b"))
    assert (a.ticket[-6:], b.ticket[-6:]) == ("000100", "000101")
    with pytest.raises(ProviderRejected) as rejected:
        await sandbox.cancel("SBX-2026-999999")
    assert rejected.value.code == "unknown_ticket"


async def test_submit_with_wrong_phone_is_unknown_terminal(sandbox: SandboxProvider) -> None:
    t = demo("LKL8A2301234")
    wrong = Filing("k", "deregister", t.merchant_id, t.serial, "+8613999999999", "x")
    with pytest.raises(ProviderRejected) as rejected:
        await sandbox.submit(wrong)
    assert rejected.value.code == "unknown_terminal"


# -- generated terminals --------------------------------------------------------------------


async def test_generate_terminals() -> None:
    sandbox = SandboxProvider()
    made = sandbox.generate_terminals(1500, start=1000)
    assert len(made) == 1500
    assert made[0] == Terminal("102100000001000", "BENCH0001000", "+8613900001000", model="Sandbox")
    for field in ("merchant_id", "serial", "registered_phone"):
        assert len({getattr(t, field) for t in made}) == 1500
    demo_serials = {t.serial for t in DEMO_TERMINALS}
    assert not demo_serials & {t.serial for t in made}
    for t in made:
        assert re.fullmatch(r"\d{15}", t.merchant_id)
        number = phonenumbers.parse(t.registered_phone)
        assert phonenumbers.is_valid_number(number)
        assert phonenumbers.region_code_for_number(number) == "CN"
        assert t.state == "active"
    last = made[-1]
    found = await sandbox.lookup(last.merchant_id, last.serial, last.registered_phone)
    assert found.verdict == "ok"
    assert (await sandbox.balance(last.merchant_id, last.serial)).is_clear


def test_generate_terminals_bounds() -> None:
    sandbox = SandboxProvider()
    assert sandbox.generate_terminals(0) == []
    with pytest.raises(ValueError):
        sandbox.generate_terminals(10, start=10**7 - 5)


# -- codes ----------------------------------------------------------------------------------


async def test_fixed_code_and_on_sms(clock: FakeClock) -> None:
    texts: list[tuple[str, str]] = []
    sandbox = SandboxProvider(
        clock=clock, fixed_code="246810", on_sms=lambda p, c: texts.append((p, c))
    )
    t = demo("LKL8A2301234")
    await sandbox.send_code(t.merchant_id, t.serial)
    assert texts == [("+8613800138000", "246810")]
    assert sandbox.sent_codes == texts
    assert await sandbox.check_code(t.merchant_id, t.serial, "246810") == "ok"


async def test_seeded_rng_is_deterministic() -> None:
    t = demo("LKL8A2301234")
    codes = []
    for _ in range(2):
        sandbox = SandboxProvider(rng=random.Random(7))
        await sandbox.send_code(t.merchant_id, t.serial)
        codes.append(sandbox.sent_codes[-1][1])
    assert codes[0] == codes[1]
    assert re.fullmatch(r"\d{6}", codes[0])


async def test_code_expiry_boundary(sandbox: SandboxProvider, clock: FakeClock) -> None:
    t = demo("LKL8A2301234")
    await sandbox.send_code(t.merchant_id, t.serial)
    code = sandbox.sent_codes[-1][1]
    clock.now += 300.0
    assert await sandbox.check_code(t.merchant_id, t.serial, code) == "ok"
    await sandbox.send_code(t.merchant_id, t.serial)
    clock.now += 300.5
    assert await sandbox.check_code(t.merchant_id, t.serial, sandbox.sent_codes[-1][1]) == "expired"


async def test_codes_are_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    sandbox = SandboxProvider()
    t = DEMO_TERMINALS[0]
    with caplog.at_level(logging.DEBUG, logger="posbot"):
        await sandbox.send_code(t.merchant_id, t.serial)
    code = sandbox.sent_codes[-1][1]
    assert "138****8000" in caplog.text
    assert code not in caplog.text
    assert t.registered_phone not in caplog.text
    assert mask_phone("+8613500135000") == "135****5000"


async def test_the_right_code_asked_again_by_the_same_check_is_still_right(
    sandbox: SandboxProvider,
) -> None:
    """The first answer was lost in a crash: the same check (same key) gets the same answer;
    any other check of a used code is told it expired."""
    t = demo("LKL8A2301234")
    await sandbox.send_code(t.merchant_id, t.serial)
    code = sandbox.sent_codes[-1][1]
    assert await sandbox.check_code(t.merchant_id, t.serial, code, key="c1") == "ok"
    assert await sandbox.check_code(t.merchant_id, t.serial, code, key="c1") == "ok"
    assert await sandbox.check_code(t.merchant_id, t.serial, code, key="c2") == "expired"
    assert await sandbox.check_code(t.merchant_id, t.serial, code) == "expired"


async def test_two_sandboxes_on_one_file_are_one_provider(tmp_path: Path) -> None:
    """Two processes' sandboxes: one ticket sequence, one set of codes and requests."""
    url = f"sqlite:///{tmp_path / 'sandbox.db'}"
    a, b = SandboxProvider(database=url), SandboxProvider(database=url)
    first, second = demo("LKL8A2301234"), demo("PAXS90778899")
    filed_a = await a.submit(filing(first, key="ka"))
    filed_b = await b.submit(filing(second, key="kb"))
    assert (filed_a.ticket[-6:], filed_b.ticket[-6:]) == ("000100", "000101")
    assert (await b.submit(filing(first, key="ka"))).ticket == filed_a.ticket  # same key
    with pytest.raises(ProviderRejected):  # the terminal is taken, whoever asks
        await b.submit(filing(first, key="other"))
    await a.send_code(first.merchant_id, first.serial)
    assert await b.check_code(first.merchant_id, first.serial, a.sent_codes[-1][1]) == "ok"


async def test_unknown_terminal_gets_no_code(sandbox: SandboxProvider) -> None:
    await sandbox.send_code("102100058120001", "NOSUCHSERIAL")
    await sandbox.send_code("102100058120002", "LKL8A2301234")  # someone else's terminal
    assert sandbox.sent_codes == []


# -- export ---------------------------------------------------------------------------------


async def test_export_csvs(sandbox: SandboxProvider) -> None:
    files = await sandbox.export_records("102100058120001", "LKL8A2301234")
    assert [f.name for f in files] == [
        "LKL8A2301234-daily-reports.csv",
        "LKL8A2301234-transactions.csv",
        "LKL8A2301234-settlement-slips.csv",
    ]
    tables = {}
    for f in files:
        assert f.content_type == "text/csv"
        rows = list(csv.reader(io.StringIO(f.data.decode("utf-8"))))
        assert len(rows) >= 3  # header and a few rows
        assert all(len(r) == len(rows[0]) for r in rows)
        tables[f.name.removeprefix("LKL8A2301234-")] = rows
    txns = tables["transactions.csv"]
    assert txns[0][:5] == ["time", "txn_id", "serial", "type", "amount"]
    assert all(r[2] == "LKL8A2301234" for r in txns[1:])
    daily = tables["daily-reports.csv"]
    assert sum(Decimal(r[6]) for r in daily[1:]) == sum(Decimal(r[4]) for r in txns[1:])
    slips = tables["settlement-slips.csv"]
    for slip in slips[1:]:
        assert Decimal(slip[3]) - Decimal(slip[4]) == Decimal(slip[5])
    # deterministic
    assert files == await sandbox.export_records("102100058120001", "LKL8A2301234")


async def test_export_of_someone_elses_terminal_is_empty(sandbox: SandboxProvider) -> None:
    assert await sandbox.export_records("102100058120002", "LKL8A2301234") == []
