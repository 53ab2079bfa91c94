"""A provider posbot cannot check online (the manual desk without the operator's terminal
file): the merchant is handed to an agent, who checks the terminal, the registered phone and
what is owed with the provider, records it on the case page (``verify``: audited, the phone
proved by that agent), and hands back — the merchant then files as anyone else. Over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.bootstrap import make_provider
from bot.console.auth import hash_password
from tests.chat import Bot
from tests.console.conftest import PASSWORD, Agent


@pytest.fixture
def bot(tmp_path: Path) -> Bot:
    built = Bot(
        tmp_path,
        secret_key_file=tmp_path / "secret_key",
        provider="manual",
        demo=False,  # no sandbox terminals: nothing to check online
        desk_database=f"sqlite:///{tmp_path / 'desk.db'}",
    )
    built.provider = make_provider(built.settings)  # type: ignore[assignment]
    built.restart()
    for name, role in (("alice", "agent"), ("bob", "agent"), ("root", "admin")):
        built.app.store.add_agent(name, role, hash_password(PASSWORD))
    return built


async def handed_over(bot: Bot) -> int:
    merchant = bot.client("m1")
    await merchant.send("/deregister")
    for answer in ("102100058120001", "LKL8A2301234", "13800138000"):
        await merchant.send(answer)
    said = await merchant.tap("yes")
    assert said.keys == ["verify.wait", "handoff.cannot_check", "handoff.queue"]
    [row] = [r for r in bot.app.store.inbox("waiting", "") if r["user_id"] == "m1"]
    return int(row["id"])


async def test_the_agent_verifies_and_the_merchant_files(
    bot: Bot, browsers: dict[str, Agent]
) -> None:
    alice, bob, root = browsers["alice"], browsers["bob"], browsers["root"]
    cid = await handed_over(bot)
    merchant = bot.client("m1")
    page = await alice.http.get(f"/console/c/{cid}")
    assert 'id="form-verify"' in page.text
    await alice.post(f"/console/c/{cid}/claim")
    merchant.read()
    answer = await bob.post(f"/console/c/{cid}/verify", unsettled="0")  # not bob's to do
    assert "?error=" in answer.headers["location"]
    answer = await alice.post(f"/console/c/{cid}/verify", unsettled="12,5")
    assert "?error=" in answer.headers["location"]  # not an amount: nothing recorded
    assert bot.app.store.verification_of("102100058120001", "LKL8A2301234").verified_until is None

    answer = await alice.post(f"/console/c/{cid}/verify", unsettled="0", deposit="")
    assert answer.headers["location"] == f"/console/c/{cid}"
    record = bot.app.store.verification_of("102100058120001", "LKL8A2301234")
    assert record.method == "agent:alice" and record.verified_for == "test:m1"
    page = await alice.http.get(f"/console/c/{cid}")
    assert "agent:alice" in page.text  # the case shows how it was verified

    await alice.post(f"/console/c/{cid}/handback", step="checklist")
    assert merchant.read().keys == ["agent.handed_back", "checklist.intro"]
    await merchant.tap("all")
    await merchant.tap("other")
    said = await merchant.tap("yes")
    assert "submit.filed" in said.keys and "MA-000001" in said.text  # filed at the desk
    audit = await root.http.get("/console/audit")
    assert "<td>verify</td>" in audit.text


async def test_what_is_owed_is_what_the_agent_entered(bot: Bot, browsers: dict[str, Agent]) -> None:
    alice = browsers["alice"]
    cid = await handed_over(bot)
    merchant = bot.client("m1")
    await alice.post(f"/console/c/{cid}/claim")
    await alice.post(
        f"/console/c/{cid}/verify", unsettled="88.50", pending_refunds="1", deposit="200"
    )
    await alice.post(f"/console/c/{cid}/handback", step="balance_ack")
    said = merchant.read()
    assert said.keys[-1] == "balance.outstanding"
    assert "88.50" in said.text and "200" in said.text
