"""The e-mail and manual desks' terminals: the operator's terminal file, checked at start with
every bad line named; answers only from it — ownership, and what is owed where the file says;
what posbot cannot check online (no file, no balance, no way to send a code) hands the merchant
to an agent with a plain message, never a made-up answer."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.bootstrap import make_provider
from bot.errors import ProviderCannotCheck, ProviderFileErrors
from bot.providers.desk_directory import DeskDirectory
from bot.providers.sandbox import SandboxProvider
from bot.providers.terminal_file import load_terminal_file
from bot.settings import Settings
from tests.chat import Bot

PATTERN = r"\d{15}"
GOOD = (
    "merchant_id,serial,registered_phone,state,merchant_name,model,"
    "unsettled,pending_refunds,pending_refund_amount,deposit,fees,currency\n"
    "102100058120001,LKL8A2301234,13800138000,active,张记小吃,A8,0,0,0,0,0,CNY\n"
    "102100058120003,lkl8a-230 9999,+86 139 0013 9000,,,,,,,,,\n"
    "\n"
    "102100058120005,PAX0000012345,13700137000,deregistered,,,120.50,1,35,200,0,CNY\n"
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "terminals.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_terminal_file_is_read_as_merchants_answers_are(tmp_path: Path) -> None:
    entries = load_terminal_file(
        write(tmp_path, GOOD), merchant_id_pattern=PATTERN, phone_region="CN"
    )
    assert sorted(entries) == ["LKL8A2301234", "LKL8A2309999", "PAX0000012345"]
    first = entries["LKL8A2301234"]
    assert first.terminal.registered_phone == "+8613800138000"
    assert (first.terminal.merchant_name, first.terminal.model) == ("张记小吃", "A8")
    assert first.balance is not None and first.balance.is_clear
    assert entries["LKL8A2309999"].balance is None  # not known: an agent checks
    assert entries["LKL8A2309999"].terminal.state == "active"
    owed = entries["PAX0000012345"].balance
    assert owed is not None and owed.unsettled == Decimal("120.50") and owed.pending_refunds == 1
    assert entries["PAX0000012345"].terminal.state == "deregistered"


def test_every_mistake_in_the_file_is_named_with_its_line(tmp_path: Path) -> None:
    bad = write(
        tmp_path,
        "merchant_id,serial,registered_phone,state,unsettled,pending_refunds,"
        "pending_refund_amount,deposit,fees\n"
        "102100058120001,LKL8A2301234,13800138000,active,,,,,\n"  # 2: fine
        "10210005812,LKL8A2301235,13800138000,,,,,,\n"  # 3: short merchant number
        "102100058120002,LKL8A2301234,13800138000,,,,,,\n"  # 4: the serial again
        "102100058120003,LKL8A2301236,12345,closed,,,,,\n"  # 5: phone and state
        "102100058120004,LKL8A2301237,13800138000,,10,,,,\n"  # 6: one amount of five
        "102100058120005,LKL8A2301238,13800138000,,x,0,0,0,0\n",  # 7: not a number
    )
    with pytest.raises(ProviderFileErrors) as raised:
        load_terminal_file(bad, merchant_id_pattern=PATTERN, phone_region="CN")
    lines = [(e.line, e.message) for e in raised.value.errors]
    assert all(e.file == str(bad) for e in raised.value.errors)
    assert [line for line, _ in lines] == [3, 4, 5, 5, 6, 7]
    assert "does not match" in lines[0][1]
    assert "already on line 2" in lines[1][1]
    assert "state 'closed'" in lines[2][1] and "not a mobile number" in lines[3][1]
    assert "all five amounts" in lines[4][1] and "not a number" in lines[5][1]
    assert f"{bad}:4: serial LKL8A2301234 is already on line 2" in str(raised.value)


def test_a_header_posbot_cannot_read_is_refused_at_line_one(tmp_path: Path) -> None:
    bad = write(tmp_path, "merchant,serial,phone_number,unsettled\n1,2,3,4\n")
    with pytest.raises(ProviderFileErrors) as raised:
        load_terminal_file(bad, merchant_id_pattern=PATTERN, phone_region="CN")
    messages = [e.message for e in raised.value.errors]
    assert {e.line for e in raised.value.errors} == {1}
    assert "the column merchant_id is needed" in messages
    assert any("unknown column 'phone_number'" in m for m in messages)
    assert any("money columns come together" in m for m in messages)


def test_the_file_is_checked_when_the_provider_is_built(tmp_path: Path) -> None:
    settings = Settings(
        provider="manual",
        desk_terminals=write(tmp_path, "merchant_id,serial,registered_phone\n1,2,3\n"),
        desk_database=f"sqlite:///{tmp_path / 'desk.db'}",
        _env_file=None,  # type: ignore[call-arg]
    )
    with pytest.raises(ProviderFileErrors, match=r"terminals\.csv:2: merchant_id '1'"):
        make_provider(settings)
    missing = settings.model_copy(update={"desk_terminals": tmp_path / "nowhere.csv"})
    with pytest.raises(ProviderFileErrors, match=r"nowhere\.csv: cannot read"):
        make_provider(missing)


async def test_without_a_file_nothing_is_made_up() -> None:
    directory = DeskDirectory(None, merchant_id_pattern=PATTERN)
    for call in (
        directory.lookup("102100058120001", "LKL8A2301234", "+8613800138000"),
        directory.balance("102100058120001", "LKL8A2301234"),
        directory.send_code("102100058120001", "LKL8A2301234"),
    ):
        with pytest.raises(ProviderCannotCheck):
            await call


def desk_bot(tmp_path: Path, **more: object) -> Bot:
    """A posbot on the manual desk, not a demo: its terminals from the operator's file or
    none — not the sandbox."""
    bot = Bot(
        tmp_path,
        provider="manual",
        demo=False,
        desk_database=f"sqlite:///{tmp_path / 'desk.db'}",
        **more,
    )
    built = make_provider(bot.settings)
    assert not isinstance(getattr(built, "directory", None), SandboxProvider)
    bot.provider = built  # type: ignore[assignment]
    bot.restart()
    return bot


async def test_without_a_file_an_agent_verifies(tmp_path: Path) -> None:
    client = desk_bot(tmp_path).client()
    await client.send("/deregister")
    for answer in ("102100058120001", "LKL8A2301234", "13800138000"):
        await client.send(answer)
    said = await client.tap("yes")
    assert said.keys == ["verify.wait", "handoff.cannot_check", "handoff.queue"]
    assert "无法在线核对" in said.text


async def test_with_a_file_the_terminal_is_checked_and_the_phone_by_an_agent(
    tmp_path: Path,
) -> None:
    bot = desk_bot(tmp_path, desk_terminals=write(tmp_path, GOOD))
    stranger = bot.client("stranger")
    await stranger.send("/deregister")
    for answer in ("102100058120001", "LKL8A2301234", "13900139000"):  # not the registered phone
        await stranger.send(answer)
    assert (await stranger.tap("yes")).keys == ["verify.wait", "verify.no_match"]
    owner = bot.client("owner", locale="en")
    await owner.send("/deregister")
    for answer in ("102100058120001", "LKL8A2301234", "13800138000"):
        await owner.send(answer)
    said = await owner.tap("yes")  # it matches the file; no code can be sent
    assert said.keys == ["verify.wait", "handoff.cannot_check", "handoff.queue"]
    assert "cannot be checked online" in said.text


async def test_a_phone_the_platform_vouches_for_needs_no_code(tmp_path: Path) -> None:
    """Telegram's own contact proves the phone; the terminal and its balance come from the
    file, so the merchant goes on to the checklist without an agent."""
    bot = desk_bot(tmp_path, desk_terminals=write(tmp_path, GOOD))
    owner = bot.client()
    await owner.send("/deregister")
    for answer in ("102100058120001", "LKL8A2301234"):
        await owner.send(answer)
    await owner.share_contact("+8613800138000", own=True)
    said = await owner.tap("yes")
    assert said.keys == ["verify.wait", "code.contact_ok", "checklist.intro"]
    other = bot.client("other")  # a terminal whose balance the file does not give
    await other.send("/deregister")
    for answer in ("102100058120003", "LKL8A2309999"):
        await other.send(answer)
    await other.share_contact("+8613900139000", own=True)
    said = await other.tap("yes")
    assert said.keys == ["verify.wait", "code.contact_ok", "handoff.cannot_check", "handoff.queue"]
