"""Request desks for providers without an API.

- ``ManualDesk``: the request waits for an agent to file it by hand; the agent enters the
  provider's reference and moves its status (``posbot requests set``), which posbot's status
  polling pushes to the merchant.
- ``EmailDesk``: files by SMTP (aiosmtplib; STARTTLS and login from settings) with the
  application letter attached and the ticket in the subject. Idempotent across a crash: the
  request is recorded under its idempotency key before the mail goes out and marked once it
  went; a retry after a crash in between sends it again with the same Message-ID (derived from
  the key), which mail systems treat as the same message. Its status is then set by an agent."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

import aiosmtplib

from bot.errors import ProviderRejected, ProviderUnavailable
from bot.providers.base import Filing, RequestDesk, RequestStatus
from bot.providers.desk_state import DeskRequest, DeskState
from bot.providers.letter import letter_values, load_letter_template, render_letter
from bot.request_states import FINAL_STATES


def _status(found: DeskRequest) -> RequestStatus:
    return RequestStatus(found.ticket, found.state, found.reason)  # type: ignore[arg-type]


class Desk(RequestDesk):
    """A desk whose requests an agent moves on (``posbot requests set``, the console)."""

    desk = "manual"

    def __init__(self, state: DeskState, clock: Callable[[], float] = time.time) -> None:
        self.state = state
        self.clock = clock

    def _known(self, ticket: str) -> DeskRequest:
        found = self.state.get(ticket)
        if found is None:
            raise ProviderRejected(f"no request {ticket!r}", code="unknown_ticket")
        return found

    async def _do_status(self, ticket: str) -> RequestStatus:
        return _status(self._known(ticket))

    async def _do_cancel(self, ticket: str) -> RequestStatus:
        found = self._known(ticket)
        if found.state in FINAL_STATES:
            return _status(found)
        changed = self.state.set(ticket, "cancelled", reason=found.reason)
        assert changed is not None
        return _status(changed)

    def _file(self, filing: Filing) -> DeskRequest:
        return self.state.file(
            filing.idempotency_key,
            self.desk,
            filing.kind,
            filing.merchant_id,
            filing.serial.strip().upper(),
            self.clock(),
        )


class ManualDesk(Desk):
    desk = "manual"

    async def _do_submit(self, filing: Filing) -> RequestStatus:
        """Recorded, "submitted": the merchant has their ticket; it waits for an agent."""
        return _status(self._file(filing))


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    sender: str
    to: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0


class EmailDesk(Desk):
    desk = "email"

    def __init__(
        self,
        state: DeskState,
        smtp: Smtp,
        letters: Path,
        *,
        provider: str = "email",
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(state, clock)
        self.smtp = smtp
        self.letters = letters
        self.provider = provider

    async def _do_submit(self, filing: Filing) -> RequestStatus:
        found = self._file(filing)
        if not found.mailed:
            await self._mail(filing, found.ticket)
            self.state.mailed(found.ticket, self.clock())
        return _status(found)

    def message(self, filing: Filing, ticket: str) -> EmailMessage:
        template = load_letter_template(self.letters, self.provider)
        pdf = render_letter(template, letter_values(filing, ticket=ticket))
        mail = EmailMessage()
        mail["From"], mail["To"] = self.smtp.sender, self.smtp.to
        kind = "注销 deregistration" if filing.kind == "deregister" else "停机 suspension"
        mail["Subject"] = f"[{ticket}] POS {kind}: {filing.merchant_id} / {filing.serial}"
        mail["Date"] = formatdate(localtime=False)
        domain = self.smtp.sender.rpartition("@")[2] or "posbot.local"
        mail["Message-ID"] = f"<{filing.idempotency_key}@{domain}>"  # the same on a resend
        mail.set_content(
            f"Ticket {ticket}\nMerchant {filing.merchant_id}\nTerminal {filing.serial}\n"
            f"Kind {filing.kind}\nReason {filing.reason or '-'}\n\n"
            "The application letter is attached. / 申请函见附件。\n"
        )
        mail.add_attachment(
            pdf, maintype="application", subtype="pdf", filename=f"{ticket}-application.pdf"
        )
        return mail

    async def _mail(self, filing: Filing, ticket: str) -> None:
        smtp = self.smtp
        try:
            await aiosmtplib.send(
                self.message(filing, ticket),
                hostname=smtp.host,
                port=smtp.port,
                username=smtp.username,
                password=smtp.password,
                start_tls=smtp.starttls,
                timeout=smtp.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise ProviderUnavailable(f"the mail did not go out: {type(exc).__name__}") from exc
