"""The sandbox provider: a fake provider for demos, tests and benchmarks.

Its terminals are configuration (the demo rows, or generated ones); what happens to them — filed
requests, ticket numbers, one-time codes — lives in a SQLite file of its own (``SandboxState``),
so several posbot processes share one sandbox and a restart forgets nothing. Review moves on by
itself with the injected ``clock`` (one ``review_step_seconds`` per stage), so a status is
deterministic given the clock. The codes it sends are never logged.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from bot.errors import ProviderRejected
from bot.providers.base import (
    Balance,
    CodeVerdict,
    ExportedFile,
    Filing,
    Provider,
    RequestStatus,
    Terminal,
)
from bot.providers.sandbox_demo import (
    DEMO_BALANCES,
    DEMO_REVIEWS,
    DEMO_TERMINALS,
    DEMO_TXNS,
)
from bot.providers.sandbox_state import MemoryState, SandboxState, StoredRequest
from bot.request_states import FINAL_STATES, RequestState
from bot.validation import mask_phone

__all__ = ["DEMO_TERMINALS", "SandboxProvider"]

log = logging.getLogger("posbot.sandbox")

CODE_TTL_SECONDS = 300.0
FIRST_SEQ = 100
_LADDER: tuple[RequestState, ...] = ("submitted", "under_review", "approved", "completed")


class SandboxProvider(Provider):
    name = "sandbox"

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        review_step_seconds: float = 2.0,
        fixed_code: str | None = None,
        rng: random.Random | None = None,
        on_sms: Callable[[str, str], None] | None = None,
        database: str | None = None,
    ) -> None:
        self._clock = clock
        self._step = review_step_seconds
        self._fixed_code = fixed_code
        self._rng = rng if rng is not None else random.Random()
        self._on_sms = on_sms
        self._state: SandboxState | MemoryState = (
            MemoryState() if database is None else SandboxState(database)
        )
        self.sent_codes: list[tuple[str, str]] = []  # what this process sent, for tests
        self._terminals: dict[str, Terminal] = {}
        self._balances: dict[str, Balance] = {}
        self._reviews: dict[str, tuple[RequestState, str]] = dict(DEMO_REVIEWS)
        self._closed = {t.closed_ticket: t.serial for t in DEMO_TERMINALS if t.closed_ticket}
        self.filings = 0  # requests this process filed (a replayed key is not one)
        for terminal in DEMO_TERMINALS:
            self.add_terminal(terminal, DEMO_BALANCES.get(terminal.serial))

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

    @property
    def filed_in_all(self) -> int:
        """Requests filed at this sandbox by every process that shares its file."""
        return self._state.count()

    # -- TerminalDirectory --------------------------------------------------------------------

    def _owned(self, merchant_id: str, serial: str) -> Terminal | None:
        terminal = self._terminals.get(serial)
        return terminal if terminal and terminal.merchant_id == merchant_id else None

    async def _do_find_terminal(self, serial: str) -> Terminal | None:
        return self._current(serial)

    def _current(self, serial: str) -> Terminal | None:
        """The terminal as its requests have left it."""
        terminal = self._terminals.get(serial)
        latest = self._state.latest_for(serial)
        if terminal is None or latest is None:
            return terminal
        status = self._refresh(latest)
        if not status.is_final:
            return replace(terminal, open_ticket=latest.ticket)
        if status.state == "completed" and latest.kind == "deregister":
            return replace(terminal, state="deregistered", closed_ticket=latest.ticket)
        if status.state == "completed":
            return replace(terminal, state="suspended")
        return terminal

    async def _do_balance(self, merchant_id: str, serial: str) -> Balance:
        if self._owned(merchant_id, serial) is None:
            return Balance()
        return self._balances.get(serial, Balance())

    async def _do_export_records(self, merchant_id: str, serial: str) -> list[ExportedFile]:
        if self._owned(merchant_id, serial) is None:
            return []
        return _export(merchant_id, serial)

    # -- PhoneVerifier ------------------------------------------------------------------------

    async def _do_send_code(self, merchant_id: str, serial: str) -> None:
        terminal = self._owned(merchant_id, serial)
        if terminal is None:
            return  # never reveal that the terminal is unknown
        code = self._fixed_code
        if code is None:
            code = f"{self._rng.randrange(10**6):06d}"
        self._state.put_code(serial, code, self._clock() + CODE_TTL_SECONDS)
        phone = terminal.registered_phone
        self.sent_codes.append((phone, code))
        # the code itself is for the phone (in demo mode, the chat shows it): never logged
        log.info("sandbox: a one-time code was texted to %s", mask_phone(phone))
        if self._on_sms is not None:
            self._on_sms(phone, code)

    async def _do_check_code(
        self, merchant_id: str, serial: str, code: str, key: str | None
    ) -> CodeVerdict:
        sent = self._state.code(serial) if self._owned(merchant_id, serial) else None
        if sent is None:
            return "expired"
        if self._clock() > sent.expires_at:
            self._state.drop_code(serial)
            return "expired"
        if sent.consumed:
            # used up — unless the same check asks again (its first answer was lost in a
            # crash): a merchant who typed the right code is never told it expired
            again = key is not None and key == sent.consumed_by and code == sent.code
            return "ok" if again else "expired"
        if code != sent.code:
            return "wrong"
        self._state.consume(serial, key)
        return "ok"

    # -- RequestDesk --------------------------------------------------------------------------

    async def _do_submit(self, filing: Filing) -> RequestStatus:
        ticket = self._state.ticket_for(filing.idempotency_key)
        if ticket is not None:
            return self._status_of(ticket)
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
        ticket = self._state.file(
            filing.idempotency_key,
            filing.kind,
            serial,
            self._clock(),
            time.gmtime().tm_year,
            FIRST_SEQ,
        )
        self.filings += 1
        return self._status_of(ticket)

    async def _do_status(self, ticket: str) -> RequestStatus:
        return self._status_of(ticket)

    async def _do_cancel(self, ticket: str) -> RequestStatus:
        status = self._status_of(ticket)
        if status.is_final:
            return status
        self._state.finish(ticket, "cancelled", None)
        return self._status_of(ticket)

    # -- review -------------------------------------------------------------------------------

    def step_review(self, ticket: str) -> RequestStatus:
        """Move ``ticket``'s review on by one stage now (tests drive review step by step)."""
        status = self._status_of(ticket)
        if not status.is_final:
            self._state.shift(ticket, self._step if self._step > 0 else 1.0)
        return self._status_of(ticket)

    def ticket_for(self, idempotency_key: str) -> str | None:
        """The ticket already filed under ``idempotency_key``, if any."""
        return self._state.ticket_for(idempotency_key)

    def _status_of(self, ticket: str) -> RequestStatus:
        request = self._state.request(ticket)
        if request is not None:
            return self._refresh(request)
        if ticket in self._closed:  # a demo terminal's past request
            return RequestStatus(ticket, "completed")
        raise ProviderRejected(f"no request {ticket!r}", code="unknown_ticket")

    def _refresh(self, request: StoredRequest) -> RequestStatus:
        """The request's status now; a request that just became final stays so."""
        if request.final_state is not None:
            return RequestStatus(request.ticket, request.final_state, request.final_reason)  # type: ignore[arg-type]
        elapsed = self._clock() - request.submitted_at
        steps = math.inf if self._step <= 0 else elapsed / self._step
        ending = self._reviews.get(request.serial)
        status: RequestStatus
        if ending is not None and steps >= 2:
            status = RequestStatus(request.ticket, ending[0], ending[1])
        else:
            state = _LADDER[int(min(max(steps, 0.0), 3.0))]
            status = RequestStatus(request.ticket, state)
        if status.state in FINAL_STATES:
            self._state.finish(request.ticket, status.state, status.reason)
            request.final_state, request.final_reason = status.state, status.reason
        return status


def _export(merchant_id: str, serial: str) -> list[ExportedFile]:
    txns = [
        ["time", "txn_id", "serial", "type", "amount", "currency", "card", "status"],
        *(
            [when, f"{serial}-{n:04d}", serial, kind, str(amount), "CNY", card, "success"]
            for n, (when, kind, amount, card) in enumerate(DEMO_TXNS, start=1)
        ),
    ]
    daily = [["date", "merchant_id", "serial", "transactions", "gross", "refunds", "net"]]
    slips = [["settled_on", "batch_no", "serial", "amount", "fee", "net", "account"]]
    by_day: dict[str, list[Decimal]] = {}
    for when, _kind, amount, _card in DEMO_TXNS:
        by_day.setdefault(when[:10], []).append(amount)
    for day, amounts in by_day.items():
        gross = sum((a for a in amounts if a > 0), Decimal("0"))
        refunds = -sum((a for a in amounts if a < 0), Decimal("0"))
        net = gross - refunds
        fee = (net * Decimal("0.006")).quantize(Decimal("0.01"))
        settled_on = date.fromisoformat(day) + timedelta(days=1)
        batch = f"B{day.replace('-', '')}01"
        daily.append([day, merchant_id, serial, str(len(amounts)), *_strs(gross, refunds, net)])
        slips.append([str(settled_on), batch, serial, *_strs(net, fee, net - fee), "6214****3321"])
    tables = {"daily-reports": daily, "transactions": txns, "settlement-slips": slips}
    return [ExportedFile(f"{serial}-{name}.csv", "text/csv", _csv(t)) for name, t in tables.items()]


def _strs(*amounts: Decimal) -> list[str]:
    return [str(a) for a in amounts]


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")
