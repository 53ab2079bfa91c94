"""One posbot in front of several providers, chosen by merchant-number prefix or an explicit
merchant number; statuses found by ticket at whichever provider filed it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import make_provider
from bot.errors import ConfigError, ProviderRejected
from bot.providers.base import Filing, Terminal
from bot.providers.composite import Composite
from bot.providers.desk_state import DeskState
from bot.providers.desks import ManualDesk
from bot.providers.routing import RoutingProvider
from bot.providers.sandbox import SandboxProvider
from bot.settings import Settings
from tests.chat import Bot

OTHER = Terminal("109900000000001", "OTHER0000001", "+8613312345678")


def filing(t: Terminal, key: str) -> Filing:
    return Filing(key, "deregister", t.merchant_id, t.serial, t.registered_phone, "")


@pytest.fixture
def routed(tmp_path: Path) -> tuple[RoutingProvider, SandboxProvider, SandboxProvider]:
    sandbox = SandboxProvider()  # the demo terminals, 1021…
    other = SandboxProvider()
    other.add_terminal(OTHER)
    manual = Composite("manual", other, ManualDesk(DeskState(f"sqlite:///{tmp_path / 'd.db'}")))
    return RoutingProvider(sandbox, {"1099": manual, "102100058120002": manual}), sandbox, other


async def test_calls_follow_the_merchant_number(
    routed: tuple[RoutingProvider, SandboxProvider, SandboxProvider],
) -> None:
    router, sandbox, _ = routed
    found = await router.lookup(OTHER.merchant_id, OTHER.serial, OTHER.registered_phone)
    assert found.verdict == "ok"
    clean = await router.lookup("102100058120001", "LKL8A2301234", "+8613800138000")
    assert clean.verdict == "ok"
    # an explicit entry beats the default: this demo terminal's merchant is routed elsewhere
    assert router.route("102100058120002").name == "manual"
    assert router.route("102100058120003").name == "sandbox"
    at_manual = await router.submit(filing(OTHER, "k-other"))
    at_sandbox = await router.submit(
        Filing("k-demo", "deregister", "102100058120001", "LKL8A2301234", "+8613800138000", "")
    )
    assert at_manual.ticket.startswith("MA-") and at_sandbox.ticket.startswith("SBX-")
    assert sandbox.filings == 1
    fresh = RoutingProvider(router.default, router.routes)  # after a restart: asked in turn
    assert (await fresh.status(at_manual.ticket)).ticket == at_manual.ticket
    assert (await fresh.status(at_sandbox.ticket)).ticket == at_sandbox.ticket
    with pytest.raises(ProviderRejected):
        await fresh.status("NOPE-1")


async def test_a_routed_conversation_files_at_its_provider(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    desk = ManualDesk(DeskState(f"sqlite:///{tmp_path / 'desk.db'}"))
    other = SandboxProvider(clock=bot.clock, fixed_code="246810")
    other.add_terminal(OTHER)
    bot.provider = RoutingProvider(bot.provider, {"1099": Composite("manual", other, desk)})  # type: ignore[assignment]
    bot.restart()
    client = bot.client()
    await client.send("/deregister")
    for answer in (OTHER.merchant_id, OTHER.serial, OTHER.registered_phone[3:]):
        await client.send(answer)
    await client.tap("yes")
    await client.to_the_summary()
    said = await client.tap("yes")
    assert "submit.filed" in said.keys and "MA-000001" in said.text


def test_routes_come_from_settings(tmp_path: Path) -> None:
    def settings(**more: Any) -> Settings:
        return Settings(
            _env_file=None,  # type: ignore[call-arg]
            desk_database=f"sqlite:///{tmp_path / 'desk.db'}",
            sandbox_database=f"sqlite:///{tmp_path / 'sandbox.db'}",
            **more,
        )

    router = make_provider(settings(provider_routes={"1099": "manual", "10995": "manual"}))
    assert isinstance(router, RoutingProvider)
    assert [p.name for p in router.providers] == ["sandbox", "manual"]  # manual built once
    assert router.route("109951").name == "manual" and router.route("1021").name == "sandbox"
    with pytest.raises(ConfigError, match="POSBOT_PROVIDER_ROUTES"):
        make_provider(settings(provider_routes={"acme": "manual"}))
