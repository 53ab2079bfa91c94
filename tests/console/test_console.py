"""The agent console over HTTP: every route behind a login and its role, every form behind its
CSRF token, passwords guessed only so often; one agent holds a conversation; the whole hand-off
— queue, claim, canned reply, hand back, close, rating — as an agent does it."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
import uvicorn

from bot.console import cases
from bot.console.auth import COOKIE
from bot.engine.events import InboundEvent
from bot.http import make_http
from tests.chat import Bot
from tests.console.conftest import Agent
from tests.processes import free_port

PAGES = [
    "/console",
    "/console/inbox?f=waiting",
    "/console/inbox/rows",
    "/console/c/1",
    "/console/c/1/transcript",
    "/console/agents",
    "/console/canned",
    "/console/audit",
    "/console/live",
]
FORMS = [
    "/console/logout",
    "/console/c/1/claim",
    "/console/c/1/reply",
    "/console/c/1/note",
    "/console/c/1/handback",
    "/console/c/1/close",
    "/console/c/1/correct",
    "/console/c/1/status",
    "/console/c/1/desk",
    "/console/c/1/verify",
    "/console/agents",
    "/console/canned",
]
ADMIN_ONLY = ["/console/agents", "/console/canned", "/console/audit"]


async def waiting_merchant(bot: Bot, user: str = "m1") -> int:
    client = bot.client(user)
    await client.to_the_code_question()
    await client.to_the_summary()
    await client.send("/agent")
    [row] = [r for r in bot.app.store.inbox("waiting", "") if r["user_id"] == user]
    return int(row["id"])


@pytest.mark.parametrize("path", PAGES)
async def test_an_anonymous_page_request_goes_to_the_login(
    path: str, browsers: dict[str, Agent]
) -> None:
    answer = await browsers["anonymous"].http.get(path)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"


@pytest.mark.parametrize("path", FORMS)
async def test_an_anonymous_form_is_refused(path: str, browsers: dict[str, Agent]) -> None:
    answer = await browsers["anonymous"].post(path, text="hello")
    assert answer.status_code == 401


@pytest.mark.parametrize("path", ADMIN_ONLY)
async def test_an_agent_cannot_open_admin_pages(path: str, browsers: dict[str, Agent]) -> None:
    assert (await browsers["alice"].http.get(path)).status_code == 403
    assert (await browsers["root"].http.get(path)).status_code == 200


@pytest.mark.parametrize("path", FORMS)
async def test_a_form_without_its_csrf_token_is_refused(
    path: str, bot: Bot, browsers: dict[str, Agent]
) -> None:
    await waiting_merchant(bot)
    root = browsers["root"].http
    assert (await root.post(path, data={"text": "x", "name": "eve"})).status_code == 403
    forged = {"csrf": "made.up", "text": "x", "name": "eve"}
    assert (await root.post(path, data=forged)).status_code == 403
    assert bot.app.store.audit_log() == []


async def test_a_login_form_without_its_token_is_refused(browsers: dict[str, Agent]) -> None:
    answer = await browsers["anonymous"].http.post(
        "/console/login", data={"name": "alice", "password": "correct horse battery"}
    )
    assert answer.status_code == 403


async def test_passwords_are_guessed_only_so_often(bot: Bot, browsers: dict[str, Agent]) -> None:
    guesser = browsers["anonymous"]
    for _ in range(5):
        answer = await guesser.log_in("bob", "wrong")
        assert answer.headers["location"] == "/console/login?error=wrong"
    answer = await guesser.log_in("bob")  # the right one, too late
    assert answer.headers["location"] == "/console/login?error=limited"
    answer = await guesser.log_in("nobody", "x")  # unknown names cost the same
    assert answer.headers["location"].startswith("/console/login?error=")


async def test_a_session_ends_at_logout_and_after_hours(
    bot: Bot, browsers: dict[str, Agent]
) -> None:
    alice = browsers["alice"]
    assert (await alice.http.get("/console/inbox")).status_code == 200
    bot.clock.advance(9 * 3600)  # past the session's 8 hours
    assert (await alice.http.get("/console/inbox")).status_code == 303
    await alice.log_in("alice")
    assert (await alice.post("/console/logout")).status_code == 303
    assert (await alice.http.get("/console/inbox")).status_code == 303


async def test_two_agents_cannot_both_claim(bot: Bot, browsers: dict[str, Agent]) -> None:
    cid = await waiting_merchant(bot)
    assert (await browsers["alice"].post(f"/console/c/{cid}/claim")).status_code == 303
    answer = await browsers["bob"].post(f"/console/c/{cid}/claim")
    assert "held+by+alice" in answer.headers["location"]
    answer = await browsers["bob"].post(f"/console/c/{cid}/reply", text="hi")
    assert "claim" in answer.headers["location"]  # not his to answer
    answer = await browsers["root"].post(f"/console/c/{cid}/claim", reassign="1")
    assert "error" not in answer.headers["location"]  # an admin takes it over
    page = await browsers["root"].http.get(f"/console/c/{cid}")
    assert "held by <strong>root</strong>" in page.text


async def test_the_whole_hand_off_as_an_agent_does_it(bot: Bot, browsers: dict[str, Agent]) -> None:
    root, alice = browsers["root"], browsers["alice"]
    await root.post(
        "/console/canned", locale="zh_CN", title="Greeting", text="您好，我来帮您看看。"
    )
    cid = await waiting_merchant(bot)
    inbox = await alice.http.get("/console/inbox?f=waiting")
    assert f'href="/console/c/{cid}"' in inbox.text
    page = await alice.http.get(f"/console/c/{cid}")
    assert "注销 deregister" in page.text and "1021*******0001" in page.text
    assert "102100058120001" not in page.text  # masked until revealed
    assert "otp" in page.text and "您好，我来帮您看看。" in page.text  # verified how; canned
    revealed = await alice.http.get(f"/console/c/{cid}?reveal=merchant_id")
    assert "102100058120001" in revealed.text
    await alice.post(f"/console/c/{cid}/claim")
    merchant = bot.client("m1")
    assert merchant.read().keys == ["agent.joined"]
    await alice.post(f"/console/c/{cid}/reply", text="您好，我来帮您看看。")
    said = merchant.read()
    assert said.keys == ["agent.reply"] and said.text == "您好，我来帮您看看。"
    await alice.post(f"/console/c/{cid}/note", text="merchant asked about the deposit")
    await alice.post(f"/console/c/{cid}/handback", step="summary")
    assert merchant.read().keys == ["agent.handed_back", "summary"]
    assert (await merchant.tap("yes")).keys == ["submit.wait", "submit.filed", "end.done"]
    page = await alice.http.get(f"/console/c/{cid}")
    assert "SBX-2026-000100" in page.text and "merchant asked about the deposit" in page.text
    await merchant.send("/agent")
    await alice.post(f"/console/c/{cid}/claim")
    await alice.post(f"/console/c/{cid}/status", ticket="SBX-2026-000100", state="completed")
    assert "status.completed" in merchant.read().keys  # set by hand, told at once
    await alice.post(f"/console/c/{cid}/close")
    assert merchant.read().keys == ["agent.closed", "feedback.prompt"]
    await merchant.tap("5")
    closed = await alice.http.get("/console/inbox?f=closed")
    assert re.search(rf'/console/c/{cid}".*?<td>5</td>', closed.text, re.S)
    audit = await root.http.get("/console/audit")
    for action in ("reveal", "claim", "reply", "note", "handback", "status", "close"):
        assert f"<td>{action}</td>" in audit.text, action
    assert "102100058120001" not in audit.text


async def test_a_waiting_conversation_shows_up_live(
    bot: Bot, browsers: dict[str, Agent], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live stream (server-sent events, over a real server: httpx's in-process transport
    does not stream) says "changed" when a merchant starts waiting."""
    monkeypatch.setattr(cases, "LIVE_EVERY", 0.05)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(make_http(bot.app, []), host="127.0.0.1", port=port, log_config=None)
    )
    serving = asyncio.create_task(server.serve())
    cookies = {COOKIE: str(browsers["alice"].http.cookies.get(COOKIE))}  # another host
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", cookies=cookies) as http:

            async def first_change() -> str:
                async with http.stream("GET", "/console/live") as stream:
                    async for line in stream.aiter_lines():
                        if line.startswith("event: changed"):
                            return line
                return ""

            watching = asyncio.create_task(first_change())
            await asyncio.sleep(0.3)
            await bot.app.runtime.receive(InboundEvent("test", "m9", "k9", text="/agent"))
            assert await asyncio.wait_for(watching, 5) == "event: changed"
    finally:
        server.should_exit = True
        server.force_exit = True
        await serving


async def test_an_agents_reply_needs_a_claim_and_text(bot: Bot, browsers: dict[str, Agent]) -> None:
    cid = await waiting_merchant(bot)
    answer = await browsers["alice"].post(f"/console/c/{cid}/reply", text="   ")
    assert "error=" in answer.headers["location"]


async def test_handing_back_needs_the_claim_and_a_step_the_bot_can_show(
    bot: Bot, browsers: dict[str, Agent]
) -> None:
    alice, root = browsers["alice"], browsers["root"]
    merchant = bot.client("m1")
    await merchant.to_the_code_question()
    await merchant.send("人工")
    [row] = bot.app.store.inbox("waiting", "")
    cid = row["id"]
    answer = await alice.post(f"/console/c/{cid}/handback", step="code")
    assert "claim+the+conversation+first" in answer.headers["location"]
    await alice.post(f"/console/c/{cid}/claim")
    merchant.read()
    page = await alice.http.get(f"/console/c/{cid}")  # offered: where the merchant stopped
    assert '<option value="code" selected>' in page.text
    answer = await alice.post(f"/console/c/{cid}/handback", step="summary")
    page = await alice.http.get(answer.headers["location"])
    assert "cannot go on at summary" in page.text and "reason" in page.text
    assert merchant.read().keys == []  # the merchant heard nothing of it
    answer = await root.post(f"/console/c/{cid}/handback", step="code")  # an admin may
    assert "error" not in answer.headers["location"]
    assert merchant.read().keys == ["agent.handed_back", "ask.code"]
