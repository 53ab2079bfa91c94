"""The provider protocol: what posbot needs from whoever runs the terminals.

Three small ports, each implemented by every provider module:

- ``TerminalDirectory``: who owns a terminal, what is still owed, an export of the records;
- ``PhoneVerifier``: a one-time code sent to the registered phone, and its check;
- ``RequestDesk``: file a request idempotently, read its status, withdraw it.

The public methods are final and own the protocol (normalising, the "no hint which part was
wrong" rule, converting vendor errors); implementations override only the ``_do_*`` I/O.
"""

from __future__ import annotations

import abc
import unicodedata
from collections.abc import Awaitable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, TypeVar, final

from bot.errors import ProviderError, ProviderUnavailable
from bot.request_states import FINAL_STATES, RequestState

T = TypeVar("T")

TerminalState = Literal["active", "suspended", "deregistered"]
RequestKind = Literal["deregister", "suspend"]
LookupVerdict = Literal["ok", "no_match", "deregistered", "open_request"]
CodeVerdict = Literal["ok", "wrong", "expired"]


@dataclass(frozen=True)
class Terminal:
    """A terminal as the provider knows it."""

    merchant_id: str
    serial: str
    registered_phone: str  # E.164, e.g. +8613800138000
    state: TerminalState = "active"
    merchant_name: str = ""
    model: str = ""
    open_ticket: str | None = None  # a request already filed and not final
    closed_ticket: str | None = None  # the request that deregistered it


@dataclass(frozen=True)
class Lookup:
    """The answer to "is this terminal theirs?" — on mismatch, no hint which part was wrong."""

    verdict: LookupVerdict
    terminal: Terminal | None = None
    ticket: str | None = None


@dataclass(frozen=True)
class Balance:
    """What is still owed between merchant and provider, in ``currency``."""

    unsettled: Decimal = Decimal("0")
    pending_refunds: int = 0
    pending_refund_amount: Decimal = Decimal("0")
    deposit: Decimal = Decimal("0")
    fees: Decimal = Decimal("0")
    currency: str = "CNY"

    @property
    def is_clear(self) -> bool:
        return not (self.unsettled or self.pending_refunds or self.deposit or self.fees)


@dataclass(frozen=True)
class ExportedFile:
    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Filing:
    """A request to file. ``idempotency_key`` makes a replayed filing return the same ticket."""

    idempotency_key: str
    kind: RequestKind
    merchant_id: str
    serial: str
    phone: str
    reason: str
    checklist: dict[str, str] = field(default_factory=dict)
    locale: str = "zh_CN"


@dataclass(frozen=True)
class RequestStatus:
    ticket: str
    state: RequestState
    reason: str | None = None  # the provider's words on rejection or a request for more info

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


async def converted(call: Awaitable[T]) -> T:
    """Whatever an implementation's I/O raises reaches the rest of posbot as one of ours."""
    try:
        return await call
    except ProviderError:
        raise
    except Exception as exc:  # a vendor's exception: a transient failure until known better
        raise ProviderUnavailable(f"{type(exc).__name__}: {exc}") from exc


def _serial(serial: str) -> str:
    return serial.strip().upper()


class TerminalDirectory(abc.ABC):
    merchant_id_pattern: str = r"\d{15}"

    @final
    async def lookup(self, merchant_id: str, serial: str, phone: str) -> Lookup:
        terminal = await converted(self._do_find_terminal(_serial(serial)))
        if (
            terminal is None
            or terminal.merchant_id != merchant_id
            or terminal.registered_phone != phone
        ):
            return Lookup("no_match")
        if terminal.state == "deregistered":
            return Lookup("deregistered", terminal, terminal.closed_ticket)
        if terminal.open_ticket:
            return Lookup("open_request", terminal, terminal.open_ticket)
        return Lookup("ok", terminal)

    @final
    async def balance(self, merchant_id: str, serial: str) -> Balance:
        return await converted(self._do_balance(merchant_id, _serial(serial)))

    @final
    async def export_records(self, merchant_id: str, serial: str) -> list[ExportedFile]:
        return await converted(self._do_export_records(merchant_id, _serial(serial)))

    @abc.abstractmethod
    async def _do_find_terminal(self, serial: str) -> Terminal | None: ...

    @abc.abstractmethod
    async def _do_balance(self, merchant_id: str, serial: str) -> Balance: ...

    async def _do_export_records(self, merchant_id: str, serial: str) -> list[ExportedFile]:
        """Providers that cannot export return nothing; the bot then explains manual backup."""
        return []


class PhoneVerifier(abc.ABC):
    @final
    async def send_code(self, merchant_id: str, serial: str) -> None:
        await converted(self._do_send_code(merchant_id, _serial(serial)))

    @final
    async def check_code(
        self, merchant_id: str, serial: str, code: str, *, key: str | None = None
    ) -> CodeVerdict:
        """``key`` names this check: asked again under the same key (its first answer was lost
        in a crash), the provider answers the same — a right code is not "expired" then."""
        code = unicodedata.normalize("NFKC", code).strip()  # full-width digits from an IME
        return await converted(self._do_check_code(merchant_id, _serial(serial), code, key))

    @abc.abstractmethod
    async def _do_send_code(self, merchant_id: str, serial: str) -> None: ...

    @abc.abstractmethod
    async def _do_check_code(
        self, merchant_id: str, serial: str, code: str, key: str | None
    ) -> CodeVerdict: ...


class RequestDesk(abc.ABC):
    @final
    async def submit(self, filing: Filing) -> RequestStatus:
        return await converted(self._do_submit(filing))

    @final
    async def status(self, ticket: str) -> RequestStatus:
        return await converted(self._do_status(ticket))

    @final
    async def cancel(self, ticket: str) -> RequestStatus:
        return await converted(self._do_cancel(ticket))

    @abc.abstractmethod
    async def _do_submit(self, filing: Filing) -> RequestStatus: ...

    @abc.abstractmethod
    async def _do_status(self, ticket: str) -> RequestStatus: ...

    @abc.abstractmethod
    async def _do_cancel(self, ticket: str) -> RequestStatus: ...


class Directory(TerminalDirectory, PhoneVerifier, abc.ABC):
    """What posbot asks before filing: the terminal, what is owed, the phone's proof."""


class Provider(Directory, RequestDesk, abc.ABC):
    """A provider implements all three ports; ``name`` identifies it in the store."""

    name: str = "provider"
