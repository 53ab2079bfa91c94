"""Requests at the manual (and e-mail) provider moved on from the console's case page, over
HTTP: the form offers only forward moves; a move goes through the desk's own state (as
``posbot requests set`` does), reaches the merchant once, is audited; a request of another
conversation, a backward move, a stale page and a foreign ticket are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.console.auth import hash_password
from bot.providers.composite import Composite
from bot.providers.desk_state import DeskState
from bot.providers.desks import ManualDesk
from tests.chat import Bot
from tests.console.conftest import PASSWORD, Agent


@pytest.fixture
def desk(tmp_path: Path) -> DeskState:
    return DeskState(f"sqlite:///{tmp_path / 'desk.db'}")


@pytest.fixture
def bot(tmp_path: Path, desk: DeskState) -> Bot:
    """A posbot whose requests wait at the manual desk (terminals from the sandbox)."""
    built = Bot(tmp_path, secret_key_file=tmp_path / "secret_key")
    built.provider = Composite("manual", built.provider, ManualDesk(desk))  # type: ignore[assignment]
    built.restart()
    for name, role in (("alice", "agent"), ("bob", "agent"), ("root", "admin")):
        built.app.store.add_agent(name, role, hash_password(PASSWORD))
    return built


async def filed(bot: Bot, user: str) -> int:
    """``user`` files a deregistration (at the manual desk) and asks for a person."""
    client = bot.client(user)
    await client.to_the_code_question()
    await client.to_the_summary()
    assert "submit.filed" in (await client.tap("yes")).keys
    await client.send("/agent")
    client.read()
    [row] = [r for r in bot.app.store.inbox("waiting", "") if r["user_id"] == user]
    return int(row["id"])


async def test_an_agent_moves_a_manual_request_on_from_the_case_page(
    bot: Bot, desk: DeskState, browsers: dict[str, Agent]
) -> None:
    alice, root = browsers["alice"], browsers["root"]
    cid = await filed(bot, "m1")
    merchant = bot.client("m1")
    page = await alice.http.get(f"/console/c/{cid}")
    form = re.search(r'<form[^>]*id="form-desk-MA-000001".*?</form>', page.text, re.S)
    assert form is not None and "submitted" in form.group(0)
    offered = re.findall(r"<option>(\w+)</option>", form.group(0))
    assert offered == [
        "under_review",
        "approved",
        "completed",
        "rejected",
        "needs_info",
        "cancelled",
    ]
    assert 'id="form-status"' not in page.text  # its status is the desk's, not set around it

    answer = await alice.post(
        f"/console/c/{cid}/desk", ticket="MA-000001", state="under_review", reference="PROV-778"
    )
    assert answer.status_code == 303 and answer.headers["location"] == f"/console/c/{cid}"
    found = desk.get("MA-000001")
    assert found is not None and (found.state, found.reference) == ("under_review", "PROV-778")
    assert merchant.read().keys == ["status.under_review"]  # told at once ...
    assert (await merchant.wait(1)).keys == []  # ... and only once: polling finds nothing new

    await alice.post(
        f"/console/c/{cid}/desk", ticket="MA-000001", state="needs_info", reason="请补充营业执照"
    )
    said = merchant.read()
    assert said.keys == ["status.needs_info"] and "请补充营业执照" in said.text
    found = desk.get("MA-000001")
    assert found is not None and found.reference == "PROV-778"  # kept when not entered again

    page = await alice.http.get(f"/console/c/{cid}")
    assert "PROV-778" in page.text
    await alice.post(f"/console/c/{cid}/desk", ticket="MA-000001", state="completed")
    assert merchant.read().keys[:1] == ["status.completed"]
    page = await alice.http.get(f"/console/c/{cid}")
    assert "（已结束 final）" in page.text  # nothing more to set

    audit = await root.http.get("/console/audit")
    assert audit.text.count("<td>desk_status</td>") == 3
    assert "PROV-778" in audit.text


async def test_moves_that_make_no_sense_are_refused(
    bot: Bot, desk: DeskState, browsers: dict[str, Agent]
) -> None:
    alice = browsers["alice"]
    cid = await filed(bot, "m1")
    await bot.client("m2").send("/agent")  # another merchant, waiting for a person
    [row] = [r for r in bot.app.store.inbox("waiting", "") if r["user_id"] == "m2"]
    other = int(row["id"])
    desk.file("other-key", "manual", "deregister", "102100058120002", "LKL8A2301235", 0.0)
    desk.set("MA-000001", "approved")

    async def refused(conversation: int, **form: str) -> str:
        answer = await alice.post(f"/console/c/{conversation}/desk", **form)
        assert answer.status_code == 303
        location = answer.headers["location"]
        assert "?error=" in location, form
        return str((await alice.http.get(location)).text)

    assert "cannot be moved" in await refused(cid, ticket="MA-000001", state="submitted")
    assert "cannot be moved" in await refused(cid, ticket="MA-000001", state="approved")
    assert "cannot be moved" in await refused(cid, ticket="MA-000001", state="filing")
    assert "this conversation" in await refused(cid, ticket="MA-000002", state="approved")
    assert "this conversation" in await refused(other, ticket="MA-000001", state="completed")
    too_long = "x" * 101
    assert "at most" in await refused(
        cid, ticket="MA-000001", state="completed", reference=too_long
    )
    # the generic status form cannot set a desk's request around the desk
    answer = await alice.post(f"/console/c/{cid}/status", ticket="MA-000001", state="completed")
    assert "?error=" in answer.headers["location"]
    found = desk.get("MA-000001")
    assert found is not None and found.state == "approved"


async def test_a_move_made_on_a_stale_page_is_not_applied(bot: Bot, desk: DeskState) -> None:
    """Two agents at once: the desk is written only from the state the agent saw."""
    cid = await filed(bot, "m1")
    assert desk.set("MA-000001", "approved", only_from="under_review") is None
    assert desk.set("MA-000001", "under_review", only_from="submitted") is not None
    found = desk.get("MA-000001")
    assert found is not None and found.state == "under_review" and cid
