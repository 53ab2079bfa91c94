"""An in-process fake provider for demos, tests and benchmarks.

Pure in-memory: no network, no threads. Review moves on by itself with the injected ``clock``
(one ``review_step_seconds`` per stage), so a status is deterministic given the clock.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from bot.errors import ProviderRejected
from bot.providers.base import (
    Balance,
    CodeVerdict,
    ExportedFile,
    Filing,
    Provider,
    RequestKind,
    RequestStatus,
    Terminal,
)
from bot.request_states import FINAL_STATES, RequestState
from bot.validation import mask_phone

log = logging.getLogger("posbot.sandbox")

CODE_TTL_SECONDS = 300.0
FIRST_SEQ = 100
_LADDER: tuple[RequestState, ...] = ("submitted", "under_review", "approved", "completed")

DEMO_TERMINALS: tuple[Terminal, ...] = (
    Terminal(
        "102100058120001",
        "LKL8A2301234",
        "+8613800138000",
        merchant_name="示例便利店",
        model="Lakala A8",
    ),
    Terminal("102100058120002", "PAXS90778899", "+8613900139000", model="PAX S90"),
    Terminal(
        "102100058120003",
        "NLD900112233",
        "+8613700137000",
        state="deregistered",
        closed_ticket="SBX-2026-000003",
    ),
    Terminal("102100058120004", "SZZT00445566", "+8613600136000"),
    Terminal("102100058120005", "LDIA00998877", "+8613500135000"),
)
"""The demo rows: clean; money still owed; already deregistered; review rejected; needs info."""

DEMO_BALANCES: Mapping[str, Balance] = {
    "PAXS90778899": Balance(
        unsettled=Decimal("1280.50"),
        pending_refunds=1,
        pending_refund_amount=Decimal("86.00"),
        deposit=Decimal("199.00"),
    ),
}
"""Balances by serial; a terminal not listed owes nothing."""

DEMO_REVIEWS: Mapping[str, tuple[RequestState, str]] = {
    "SZZT00445566": ("rejected", "合同最低使用期未满 / minimum contract term not yet over"),
    "LDIA00998877": ("needs_info", "请补充营业执照照片 / business licence photo needed"),
}
"""How review ends (after two steps) by serial; a terminal not listed is approved."""


@dataclass(slots=True)
class _Request:
    ticket: str
    kind: RequestKind
    serial: str
    submitted_at: float
    final: RequestStatus | None = None  # set once the request reached a final state


class SandboxProvider(Provider):
    name = "sandbox"

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        review_step_seconds: float = 2.0,
        fixed_code: str | None = None,
        rng: random.Random | None = None,
        on_sms: Callable[[str, str], None] | None = None,
    ) -> None:
        self._clock = clock
        self._step = review_step_seconds
        self._fixed_code = fixed_code
        self._rng = rng if rng is not None else random.Random()
        self._on_sms = on_sms
        self.sent_codes: list[tuple[str, str]] = []
        self._terminals: dict[str, Terminal] = {}
        self._balances: dict[str, Balance] = {}
        self._reviews: dict[str, tuple[RequestState, str]] = dict(DEMO_REVIEWS)
        self._codes: dict[str, tuple[str, float]] = {}  # serial -> (code, expires_at)
        self._requests: dict[str, _Request] = {}
        self._by_key: dict[str, str] = {}  # idempotency key -> ticket
        self._open: dict[str, str] = {}  # serial -> ticket of its non-final request
        self._seq = FIRST_SEQ
        self.filings = 0  # requests filed through submit (a replayed key is not one)
        for terminal in DEMO_TERMINALS:
            self.add_terminal(terminal, DEMO_BALANCES.get(terminal.serial))
            if terminal.closed_ticket:  # a past request, so its status can still be read
                done = RequestStatus(terminal.closed_ticket, "completed")
                past = _Request(done.ticket, "deregister", terminal.serial, -math.inf, done)
                self._requests[done.ticket] = past

    # -- set-up -------------------------------------------------------------------------------

    def add_terminal(self, terminal: Terminal, balance: Balance | None = None) -> None:
        """Add (or replace) a terminal, keyed by its serial."""
        self._terminals[terminal.serial] = terminal
        if balance is None:
            self._balances.pop(terminal.serial, None)
        else:
            self._balances[terminal.serial] = balance

    def generate_terminals(self, n: int, *, start: int = 1000) -> list[Terminal]:
        """Add ``n`` clean terminals with distinct merchant ids, serials and CN mobiles."""
        if n < 0 or start < 0 or start + n > 10**7:
            raise ValueError("need 0 <= start and start + n <= 10_000_000")
        made = [
            Terminal(f"1021000{i:08d}", f"BENCH{i:07d}", f"+86139{i:08d}", model="Sandbox")
            for i in range(start, start + n)
        ]
        for terminal in made:
            self.add_terminal(terminal)
        return made

    # -- TerminalDirectory --------------------------------------------------------------------

    def _owned(self, merchant_id: str, serial: str) -> Terminal | None:
        terminal = self._terminals.get(serial)
        return terminal if terminal and terminal.merchant_id == merchant_id else None

    async def _do_find_terminal(self, serial: str) -> Terminal | None:
        return self._current(serial)

    def _current(self, serial: str) -> Terminal | None:
        ticket = self._open.get(serial)
        if ticket is not None:
            status = self._refresh(self._requests[ticket])
            if not status.is_final:
                return replace(self._terminals[serial], open_ticket=ticket)
        return self._terminals.get(serial)

    async def _do_balance(self, merchant_id: str, serial: str) -> Balance:
        if self._owned(merchant_id, serial) is None:
            return Balance()
        return self._balances.get(serial, Balance())

    async def _do_export_records(self, merchant_id: str, serial: str) -> list[ExportedFile]:
        if self._owned(merchant_id, serial) is None:
            return []
        txns = [
            ["time", "txn_id", "serial", "type", "amount", "currency", "card", "status"],
            *(
                [when, f"{serial}-{n:04d}", serial, kind, str(amount), "CNY", card, "success"]
                for n, (when, kind, amount, card) in enumerate(_DEMO_TXNS, start=1)
            ),
        ]
        daily = [["date", "merchant_id", "serial", "transactions", "gross", "refunds", "net"]]
        slips = [["settled_on", "batch_no", "serial", "amount", "fee", "net", "account"]]
        by_day: dict[str, list[Decimal]] = {}
        for when, _kind, amount, _card in _DEMO_TXNS:
            by_day.setdefault(when[:10], []).append(amount)
        for day, amounts in by_day.items():
            gross = sum((a for a in amounts if a > 0), Decimal("0"))
            refunds = -sum((a for a in amounts if a < 0), Decimal("0"))
            net = gross - refunds
            fee = (net * Decimal("0.006")).quantize(Decimal("0.01"))
            settled_on = date.fromisoformat(day) + timedelta(days=1)
            batch = f"B{day.replace('-', '')}01"
            daily.append([day, merchant_id, serial, str(len(amounts)), *_strs(gross, refunds, net)])
            slips.append(
                [str(settled_on), batch, serial, *_strs(net, fee, net - fee), "6214****3321"]
            )
        tables = {"daily-reports": daily, "transactions": txns, "settlement-slips": slips}
        return [
            ExportedFile(f"{serial}-{name}.csv", "text/csv", _csv(t)) for name, t in tables.items()
        ]

    # -- PhoneVerifier ------------------------------------------------------------------------

    async def _do_send_code(self, merchant_id: str, serial: str) -> None:
        terminal = self._owned(merchant_id, serial)
        if terminal is None:
            return  # never reveal that the terminal is unknown
        code = self._fixed_code
        if code is None:
            code = f"{self._rng.randrange(10**6):06d}"
        self._codes[serial] = (code, self._clock() + CODE_TTL_SECONDS)
        phone = terminal.registered_phone
        self.sent_codes.append((phone, code))
        log.info("sandbox SMS to %s: verification code %s", mask_phone(phone), code)
        if self._on_sms is not None:
            self._on_sms(phone, code)

    async def _do_check_code(self, merchant_id: str, serial: str, code: str) -> CodeVerdict:
        sent = self._codes.get(serial) if self._owned(merchant_id, serial) else None
        if sent is None:
            return "expired"
        expected, expires_at = sent
        if self._clock() > expires_at:
            del self._codes[serial]
            return "expired"
        if code != expected:
            return "wrong"
        del self._codes[serial]  # consumed: a second check of the same code is "expired"
        return "ok"

    # -- RequestDesk --------------------------------------------------------------------------

    async def _do_submit(self, filing: Filing) -> RequestStatus:
        ticket = self._by_key.get(filing.idempotency_key)
        if ticket is not None:
            return self._refresh(self._requests[ticket])
        serial = filing.serial.strip().upper()
        terminal = self._current(serial)
        if (
            terminal is None
            or terminal.merchant_id != filing.merchant_id
            or terminal.registered_phone != filing.phone
        ):
            raise ProviderRejected("no such terminal for this merchant", code="unknown_terminal")
        if terminal.state == "deregistered":
            raise ProviderRejected("terminal is already deregistered", code="deregistered")
        if terminal.open_ticket:
            raise ProviderRejected(
                f"request {terminal.open_ticket} is still open", code="open_request"
            )
        ticket = f"SBX-{time.gmtime().tm_year}-{self._seq:06d}"
        self._seq += 1
        self.filings += 1
        self._requests[ticket] = _Request(ticket, filing.kind, serial, self._clock())
        self._by_key[filing.idempotency_key] = ticket
        self._open[serial] = ticket
        return self._refresh(self._requests[ticket])

    async def _do_status(self, ticket: str) -> RequestStatus:
        return self._refresh(self._request(ticket))

    async def _do_cancel(self, ticket: str) -> RequestStatus:
        request = self._request(ticket)
        status = self._refresh(request)
        if status.is_final:
            return status
        return self._finish(request, RequestStatus(ticket, "cancelled"))

    # -- review -------------------------------------------------------------------------------

    def _request(self, ticket: str) -> _Request:
        request = self._requests.get(ticket)
        if request is None:
            raise ProviderRejected(f"no request {ticket!r}", code="unknown_ticket")
        return request

    def adopt(self, filed: Iterable[tuple[str, RequestKind, str, str, str]]) -> None:
        """Take back requests filed through an earlier sandbox — (ticket, kind, serial,
        idempotency key, last known state) — so a restarted `make run` keeps reviewing them
        and never issues their ticket numbers again."""
        for ticket, kind, serial, key, state in filed:
            self._seq = max(self._seq, int(ticket.rsplit("-", 1)[-1]) + 1)
            if ticket in self._requests:
                continue
            at = _LADDER.index(state) if state in _LADDER else 0
            request = _Request(ticket, kind, serial, self._clock() - at * self._step)
            self._requests[ticket] = request
            self._by_key[key] = ticket
            if state in FINAL_STATES:
                self._finish(request, RequestStatus(ticket, state))  # type: ignore[arg-type]
            else:
                self._open[serial] = ticket

    def _refresh(self, request: _Request) -> RequestStatus:
        """The request's status now; a request that just became final takes effect."""
        if request.final is not None:
            return request.final
        elapsed = self._clock() - request.submitted_at
        steps = math.inf if self._step <= 0 else elapsed / self._step
        ending = self._reviews.get(request.serial)
        status: RequestStatus
        if ending is not None and steps >= 2:
            status = RequestStatus(request.ticket, ending[0], ending[1])
        else:
            state = _LADDER[int(min(max(steps, 0.0), 3.0))]
            status = RequestStatus(request.ticket, state)
        return self._finish(request, status) if status.is_final else status

    def _finish(self, request: _Request, status: RequestStatus) -> RequestStatus:
        request.final = status
        if self._open.get(request.serial) == request.ticket:
            del self._open[request.serial]
        terminal = self._terminals.get(request.serial)
        if status.state == "completed" and terminal is not None:
            if request.kind == "deregister":
                terminal = replace(terminal, state="deregistered", closed_ticket=request.ticket)
            else:
                terminal = replace(terminal, state="suspended")
            self._terminals[request.serial] = terminal
        return status


_DEMO_TXNS: tuple[tuple[str, str, Decimal, str], ...] = (
    ("2026-01-05 09:12:44", "sale", Decimal("35.00"), "6222****1234"),
    ("2026-01-05 13:40:02", "sale", Decimal("128.50"), "6228****5678"),
    ("2026-01-05 18:03:19", "refund", Decimal("-12.00"), "6222****1234"),
    ("2026-01-06 10:27:51", "sale", Decimal("86.00"), "6217****9012"),
)


def _strs(*amounts: Decimal) -> list[str]:
    return [str(a) for a in amounts]


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")
