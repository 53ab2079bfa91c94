"""The web chat through its HTTP API, as the page uses it: the whole 注销 of the demo terminal,
a resent message counted once, a reload that restores the conversation, the live stream resumed
from Last-Event-ID, a forged cookie, and input no page should send."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from pathlib import Path

import pytest

from bot.channels.webchat.channel import WebChatChannel
from bot.channels.webchat.inbound import MAX_TEXT
from bot.channels.webchat.visitor import COOKIE
from bot.errors import ConfigError
from tests.chat import CODE
from tests.webchat.client import Visitor, read_events, served, web_bot


async def to_the_checklist(visitor: Visitor) -> None:
    await visitor.tap("deregister")
    await visitor.say("102100058120001")
    await visitor.say("LKL8A2301234")
    confirm = await visitor.say("13800138000")
    assert "1021*******0001" in confirm[-1]["text"] and "13800138000" not in confirm[-1]["text"]
    await visitor.tap("yes")
    await visitor.say(CODE)


async def test_the_whole_deregistration_through_the_web_chat(tmp_path: Path) -> None:
    bot, http = web_bot(tmp_path)
    async with Visitor(http) as visitor:
        page = await visitor.open()
        assert 'lang="zh-CN"' in page.text
        assert visitor.said_keys()[:2] == ["menu.welcome", "menu.prompt"]
        await to_the_checklist(visitor)
        assert "checklist.intro" in visitor.last["keys"]
        ticked = await visitor.tap("tick:backup_daily")  # the board, ticked in place
        assert ticked[0]["in_place"] and "✅" in ticked[0]["text"]
        await visitor.tap("all")
        await visitor.tap("switch_provider")
        filed = await visitor.tap("yes")
        assert any("SBX-2026-000100" in r["text"] for r in filed)

        for state in ("under_review", "approved", "completed"):  # pushed, not asked for
            bot.clock.advance(10)
            await bot.app.runtime.poll_statuses()
            items = await visitor.history()
            assert f"status.{state}" in items[-1]["keys"]
        assert bot.app.runtime.outgoing("web", _visitor_of(visitor)) == []  # shown: delivered


def _visitor_of(visitor: Visitor) -> str:
    return str(visitor.client.cookies[COOKIE]).rpartition(".")[0]


async def test_a_resent_message_counts_once(tmp_path: Path) -> None:
    _, http = web_bot(tmp_path)
    async with Visitor(http) as visitor:
        await visitor.open()
        await visitor.tap("deregister")
        first = await visitor.say("102100058120001", client_id="same-id")
        again = await visitor.say("102100058120001", client_id="same-id")  # the answer got lost
        assert [r["keys"] for r in first] == [["ask.serial"]] and again == []
        typed = [i["text"] for i in await visitor.history() if i["kind"] == "typed"]
        assert typed == ["注销终端", "1021*******0001"]  # as the transcript keeps it: masked


async def test_a_reload_restores_the_conversation_in_order(tmp_path: Path) -> None:
    _, http = web_bot(tmp_path)
    async with Visitor(http) as visitor:
        await visitor.open()
        await to_the_checklist(visitor)
        await visitor.tap("tick:backup_daily")
        await visitor.say("my card is 6222 0212 3456 7890 123")  # the shield redacts it
        before = await visitor.history()

        async with Visitor(http) as reloaded:  # the same browser: the same cookie
            reloaded.client.cookies = visitor.client.cookies
            await reloaded.open()
            after = await reloaded.history()
    assert after == before
    assert after[0]["keys"] == ["menu.welcome"]  # the page's own /start is not shown
    # each line comes right before the replies it led to
    serial = next(n for n, i in enumerate(after) if i["text"] == "LKL8A2301234")
    assert after[serial - 1]["keys"] == ["ask.serial"]
    assert after[serial + 1]["keys"] == ["ask.phone"]
    texts = " ".join(i["text"] for i in after)
    assert "6222 0212 3456 7890 123" not in texts
    assert sum(i.get("in_place", False) for i in after) == 1  # the page replaces the board
    ticked = next(n for n, i in enumerate(after) if i.get("in_place"))
    assert after[ticked - 1]["keys"] == ["checklist.intro"]  # a tick is no line of its own


async def test_the_stream_resumes_after_last_event_id_without_duplicates(tmp_path: Path) -> None:
    bot, http = web_bot(tmp_path)
    async with served(http) as url, Visitor(base_url=url) as visitor:
        await visitor.open()
        await visitor.tap("deregister")
        everything = await read_events(visitor.client, len(visitor.replies), after=0)
        assert [i for i, _ in everything] == sorted(visitor.replies)
        seen = everything[1][0]

        left = len(everything) - 2  # sent after ``seen`` already, and one more to come
        reader = asyncio.create_task(read_events(visitor.client, left + 1, last_event_id=str(seen)))
        await asyncio.sleep(0.3)  # connected, waiting for news
        await visitor.say("102100058120001")  # a reply arrives live
        resumed = await asyncio.wait_for(reader, 10)
        ids = [i for i, _ in resumed]
        assert ids == sorted(set(ids)) and ids[0] == seen + 1
        assert resumed[-1][1]["keys"] == ["ask.serial"]
        assert bot.app.runtime.outgoing("web") == []  # what was pushed is marked delivered


async def test_a_status_push_reaches_an_open_stream(tmp_path: Path) -> None:
    bot, http = web_bot(tmp_path)
    async with served(http) as url, Visitor(base_url=url) as visitor:
        await visitor.open()
        await to_the_checklist(visitor)
        await visitor.tap("all")
        await visitor.tap("switch_provider")
        await visitor.tap("yes")
        reader = asyncio.create_task(read_events(visitor.client, 1, after=max(visitor.replies)))
        await asyncio.sleep(0.2)
        bot.clock.advance(10)
        await bot.app.runtime.poll_statuses()
        [(_, pushed)] = await asyncio.wait_for(reader, 10)
        assert pushed["keys"] == ["status.under_review"]


async def test_a_forged_cookie_is_a_new_visitor_not_someone_else(tmp_path: Path) -> None:
    _, http = web_bot(tmp_path)
    async with Visitor(http) as merchant:
        await merchant.open()
        await merchant.tap("deregister")
        await merchant.say("102100058120001")
        victim = _visitor_of(merchant)
        for forged in (victim, f"{victim}.0123456789abcdef0123456789abcdef", "x" * 40):
            async with Visitor(http) as intruder:
                intruder.client.cookies.set(COOKIE, forged, domain="testserver.local")
                refused = await intruder.client.get("/chat/history")
                assert refused.status_code == 401
                assert (await intruder.client.post("/chat/messages", json={})).status_code == 401
                page = await intruder.client.get("/")
                assert _visitor_of(intruder) != victim  # a new cookie, a new visitor
                assert "httponly" in page.headers["set-cookie"].lower()
                assert "samesite=lax" in page.headers["set-cookie"].lower()
                assert await intruder.history() == []


async def test_input_no_page_sends_gets_a_clean_answer(tmp_path: Path) -> None:
    _, http = web_bot(tmp_path)
    async with Visitor(http) as visitor:
        await visitor.open()
        post = visitor.client.post
        huge = await post("/chat/messages", json={"id": "big", "text": "字" * 10_000})
        assert huge.status_code == 413 and str(MAX_TEXT) in huge.json()["message"]
        body = b'{"id": "x", "text": "' + b"a" * 40_000 + b'"}'
        headers = {"Content-Type": "application/json"}
        assert (await post("/chat/messages", content=body, headers=headers)).status_code == 413
        broken = await post("/chat/messages", content=b"{not json", headers=headers)
        assert broken.status_code == 400 and broken.json()["error"] == "invalid"
        for bad in ([1, 2], {"text": "no id"}, {"id": "../../x", "text": "a"}, {"id": "a"},
                    {"id": "a", "tap": {"message": "1", "value": "yes"}}):  # fmt: skip
            assert (await post("/chat/messages", json=bad)).status_code == 400, bad
        assert (await post("/chat/messages", json={"id": "e", "text": "  "})).status_code == 400
        form = await post("/chat/messages", data={"id": "f", "text": "hi"})
        assert form.status_code == 415  # a form posted from another site
        assert (await visitor.client.get("/chat/stream?after=-1")).status_code == 400

        template = await visitor.say("{{ 7*7 }} {% for x in range(9) %}x{% endfor %}")
        assert template and "49" not in template[-1]["text"]
        emoji = await visitor.say("😀🙏 注销 \u202e \x00")
        assert emoji
        stale = await post(
            "/chat/messages", json={"id": "s", "tap": {"message": 1, "value": "deregister"}}
        )
        assert stale.status_code == 409 and stale.json()["message"]
        assert (await visitor.client.get("/chat/files/1/0")).status_code == 404


async def test_the_page_is_in_the_browsers_language_and_switches(tmp_path: Path) -> None:
    _, http = web_bot(tmp_path)
    async with Visitor(http) as visitor:
        page = await visitor.open("en-GB,en;q=0.9")
        assert 'lang="en"' in page.text and "Type a message" in page.text
        assert 'data-lang="zh"' in page.text and visitor.last["keys"] == ["menu.prompt"]
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        for hook in ('id="messages"', 'id="input"', 'id="send"', 'id="lang-switch"'):
            assert hook in page.text
        await visitor.say("/lang zh")  # what the switch sends
        again = await visitor.client.get("/")  # the page follows the conversation's language
        assert 'lang="zh-CN"' in again.text and 'data-lang="en"' in again.text
        assert "system.lang_changed" in visitor.said_keys()
        assert "/lang zh" not in [i["text"] for i in await visitor.history()]  # a control
        static = await visitor.client.get("/chat/static/chat.js")
        assert static.status_code == 200 and "EventSource" in static.text


async def test_files_are_links_for_their_visitor_only(tmp_path: Path) -> None:
    _, http = web_bot(tmp_path)
    async with Visitor(http) as visitor, Visitor(http) as other:
        await visitor.open()
        await to_the_checklist(visitor)
        await visitor.tap("next")
        exported = await visitor.tap("export")
        files = [f for r in exported for f in r["attachments"]]
        assert len(files) == 3 and "data" not in files[0]
        download = await visitor.client.get(files[0]["url"])
        assert download.status_code == 200 and len(download.content) == files[0]["size"]
        assert download.headers["content-disposition"].startswith("attachment; filename*=UTF-8''")
        await other.open()
        assert (await other.client.get(files[0]["url"])).status_code == 404


async def test_a_tap_on_an_earlier_message_changes_nothing(tmp_path: Path) -> None:
    _, http = web_bot(tmp_path)
    async with Visitor(http) as visitor:
        await visitor.open()
        menu = visitor.latest_buttons()
        await visitor.tap("deregister")
        for answer in ("102100058120001", "LKL8A2301234", "13800138000"):
            await visitor.say(answer)  # the confirmation has buttons of its own now
        tap = {"id": "old", "tap": {"message": menu["id"], "value": "suspend"}}
        refused = await visitor.client.post("/chat/messages", json=tap)
        assert refused.status_code == 409
        assert re.search("earlier|之前", refused.json()["message"])
        assert visitor.last["keys"] == ["confirm.details"]
        wrong = {"id": "wrong", "tap": {"message": visitor.last["id"], "value": "nope"}}
        assert (await visitor.client.post("/chat/messages", json=wrong)).status_code == 409


def test_a_key_that_cannot_be_kept_is_a_setting_to_fix(tmp_path: Path) -> None:
    bot, _ = web_bot(tmp_path)
    (tmp_path / "blocked").write_text("a file, not a folder")
    settings = bot.app.settings.model_copy(
        update={"secret_key": None, "secret_key_file": tmp_path / "blocked" / "secret_key"}
    )
    with pytest.raises(ConfigError, match="POSBOT_SECRET_KEY"):
        WebChatChannel(replace(bot.app, settings=settings))


async def test_a_persons_reply_arrives_live_and_says_so(tmp_path: Path) -> None:
    bot, http = web_bot(tmp_path)
    async with served(http) as url, Visitor(base_url=url) as visitor:
        await visitor.open()
        await visitor.say("/agent")
        reader = asyncio.create_task(read_events(visitor.client, 1, after=max(visitor.replies)))
        await asyncio.sleep(0.2)
        runtime = bot.app.runtime
        runtime.service.send("web", _visitor_of(visitor), "您好，我是客服小王 <b>hi</b>")
        runtime.notifier.notify("web")  # as the console does after a reply
        [(_, said)] = await asyncio.wait_for(reader, 10)
        assert said["by"] == "person" and said["text"] == "您好，我是客服小王 <b>hi</b>"
