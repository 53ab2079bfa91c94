"""Providers without an API: the e-mail desk files by SMTP to a real aiosmtpd server on
127.0.0.1 with the application letter attached (opened with pypdf, a page rendered to PNG under
var/), once per idempotency key across restarts; the manual desk waits for an agent, whose
status changes reach the merchant's chat."""

from __future__ import annotations

import base64
import email
import email.policy
import io
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pypdf
import pypdfium2
import pytest
from aiosmtpd.controller import Controller

from bot.errors import ProviderUnavailable
from bot.providers.base import Filing
from bot.providers.composite import Composite
from bot.providers.desk_state import DeskState
from bot.providers.desks import EmailDesk, ManualDesk, Smtp
from bot.providers.sandbox_server import loopback_socket
from bot.settings import PROJECT
from tests.chat import Bot

LETTERS = PROJECT / "providers" / "letters"
FILING = Filing(
    idempotency_key="mail-key-00000001",
    kind="deregister",
    merchant_id="102100058120001",
    serial="LKL8A2301234",
    phone="+8613800138000",
    reason="换用其他收单机构",
)


class Inbox:
    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.mails.append(parsed)  # type: ignore[arg-type]
        return "250 OK"


def free_port() -> int:
    sock = loopback_socket()
    port = int(sock.getsockname()[1])
    sock.close()
    return port


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, Smtp]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, Smtp("127.0.0.1", controller.port, "posbot@example.com", "desk@provider.example")
    controller.stop()


def desk(tmp: Path, smtp: Smtp) -> EmailDesk:
    return EmailDesk(DeskState(f"sqlite:///{tmp / 'desk.db'}"), smtp, LETTERS)


def attachment(mail: EmailMessage) -> bytes:
    [pdf] = [part for part in mail.iter_attachments()]
    assert pdf.get_content_type() == "application/pdf"
    return bytes(pdf.get_content())


async def test_filed_by_mail_with_the_letter_attached(
    tmp_path: Path, smtp: tuple[Inbox, Smtp]
) -> None:
    inbox, server = smtp
    status = await desk(tmp_path, server).submit(FILING)
    assert status.state == "submitted" and status.ticket == "EM-000001"
    [mail] = inbox.mails
    assert mail["Subject"].startswith(f"[{status.ticket}] POS")
    assert mail["To"] == "desk@provider.example"
    pdf = attachment(mail)
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    for shown in (FILING.merchant_id, FILING.serial, status.ticket, "申请函", "换用其他收单机构"):
        assert shown in text.replace("\n", ""), shown
    out = PROJECT / "var" / "letters"
    out.mkdir(parents=True, exist_ok=True)
    page = pypdfium2.PdfDocument(pdf)[0].render(scale=1.5).to_pil()
    page.save(out / f"{status.ticket}-application.png")  # to be looked at
    assert page.size[0] > 800 and page.getextrema() != ((255, 255), (255, 255), (255, 255))


async def test_the_same_key_mails_once_across_a_restart(
    tmp_path: Path, smtp: tuple[Inbox, Smtp]
) -> None:
    inbox, server = smtp
    first = await desk(tmp_path, server).submit(FILING)
    again = await desk(tmp_path, server).submit(FILING)  # a new process, the same file
    assert first == again and len(inbox.mails) == 1


async def test_a_crash_after_the_mail_resends_it_as_the_same_message(
    tmp_path: Path, smtp: tuple[Inbox, Smtp], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, server = smtp
    dying = desk(tmp_path, server)

    def crash(ticket: str, now: float) -> None:
        raise SystemExit("killed before the mail was recorded")

    monkeypatch.setattr(dying.state, "mailed", crash)
    with pytest.raises(SystemExit):
        await dying.submit(FILING)
    await desk(tmp_path, server).submit(FILING)
    ids = {mail["Message-ID"] for mail in inbox.mails}
    assert len(inbox.mails) == 2 and ids == {f"<{FILING.idempotency_key}@example.com>"}
    await desk(tmp_path, server).submit(FILING)
    assert len(inbox.mails) == 2


async def test_an_smtp_server_that_is_down_is_unavailable_then_files_once(
    tmp_path: Path, smtp: tuple[Inbox, Smtp]
) -> None:
    inbox, server = smtp
    down = Smtp("127.0.0.1", free_port(), server.sender, server.to, timeout=2)
    with pytest.raises(ProviderUnavailable):
        await desk(tmp_path, down).submit(FILING)
    status = await desk(tmp_path, server).submit(FILING)
    assert status.ticket == "EM-000001" and len(inbox.mails) == 1


async def test_manual_requests_wait_for_an_agent_whose_changes_reach_the_chat(
    tmp_path: Path,
) -> None:
    bot = Bot(tmp_path)
    state = DeskState(f"sqlite:///{tmp_path / 'desk.db'}")
    bot.provider = Composite("manual", bot.provider, ManualDesk(state))  # type: ignore[assignment]
    bot.restart()
    client = bot.client()
    await client.to_the_code_question()
    await client.to_the_summary()
    said = await client.tap("yes")
    assert "submit.filed" in said.keys and "MA-000001" in said.text
    assert (await bot.app.provider.status("MA-000001")).state == "submitted"
    assert (await client.wait(60)).keys == []  # nobody moved it: nothing to tell
    state.set("MA-000001", "under_review", reference="PROV-778")  # an agent filed it by hand
    assert (await client.wait(1)).keys == ["status.under_review"]
    assert (await client.wait(1)).keys == []
    state.set("MA-000001", "completed")
    assert (await client.wait(1)).keys == ["status.completed"]
    assert state.get("MA-000001").reference == "PROV-778"  # type: ignore[union-attr]


def test_the_provider_is_chosen_by_settings(tmp_path: Path) -> None:
    from bot.bootstrap import make_provider
    from bot.errors import ConfigError
    from bot.settings import Settings

    def settings(**more: Any) -> Settings:
        return Settings(
            _env_file=None,  # type: ignore[call-arg]
            desk_database=f"sqlite:///{tmp_path / 'desk.db'}",
            sandbox_database=f"sqlite:///{tmp_path / 'sandbox.db'}",
            **more,
        )

    assert make_provider(settings(provider="manual")).name == "manual"
    with pytest.raises(ConfigError, match="POSBOT_PROVIDER_EMAIL"):
        make_provider(settings(provider="email"))
    assert make_provider(settings(provider="email", provider_email="a@b.example")).name == "email"
    with pytest.raises(ConfigError, match="no provider file"):
        make_provider(settings(provider="acme"))


async def test_the_merchant_gets_the_letter_with_the_ticket(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = bot.client()
    await client.to_the_code_question()
    await client.to_the_summary()
    said = await client.tap("yes")
    [ticket] = [str(r["ticket"]) for r in bot.app.store.requests()]
    [letter] = said.attachments
    assert letter["name"] == f"{ticket}-application.pdf"
    assert "submit.filed" in said.keys and len(said.messages) >= 1
    pdf = base64.b64decode(letter["data"])
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text().replace("\n", "")
    assert "102100058120001" in text and "LKL8A2301234" in text and ticket in text
    [state] = (
        [bot.app.store.conversation_state("test", client.user)]
        if hasattr(bot.app.store, "conversation_state")
        else [None]
    )
    assert state is None or "application.pdf" not in state  # never kept in the state
