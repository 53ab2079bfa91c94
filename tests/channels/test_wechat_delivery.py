"""The WeChat channel end to end: WeChat's push (signed, AES-encrypted, 5-second deadline, three
attempts) to posbot over HTTP, posbot's answers — passive, customer-service, template — to the
fake of WeChat's API. What the merchant got (``api.inbox``) is checked against every reply posbot
committed: each exactly once, in order, never both passively and as a customer-service message."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import App
from bot.channels import wechat
from bot.channels.wechat_text import parts_of
from bot.console.case import case_of
from bot.store.chat_log import latest_replies
from tests.wechat.api import WeChatAPIServer
from tests.wechat.push import WeChatPush, _xml
from tests.wechat.serving import TEMPLATE, serving

OPENID = "oMerchant00000000000000001"
MERCHANTS = int(__import__("os").environ.get("WECHAT_MERCHANTS", "100"))


@pytest.fixture
async def api() -> AsyncIterator[WeChatAPIServer]:
    async with WeChatAPIServer(templates=(TEMPLATE,)) as server:
        yield server


def committed(app: App, openid: str) -> list[str]:
    """Every text posbot committed for the merchant, as WeChat messages, in order."""
    return [
        p
        for s in latest_replies(app.store, "wechat", openid, 1000)
        for p in parts_of(s.item.payload)
    ]


async def all_delivered(api: WeChatAPIServer, app: App, openid: str, timeout: float = 10) -> None:
    await api.wait_for(lambda s: len(s.texts(openid)) >= len(committed(app, openid)) > 0, timeout)
    await asyncio.sleep(0.6)  # a second answer would have come by now


def once_in_order(api: WeChatAPIServer, app: App, openid: str) -> None:
    got = api.texts(openid)
    assert got == committed(app, openid), got
    assert not [t for t, n in Counter(got).items() if n > 1]


async def test_a_text_is_answered_passively_then_the_rest_as_customer_service(
    api: WeChatAPIServer, tmp_path: Path
) -> None:
    async with serving(tmp_path, api) as (app, _, push):
        pushed = await push.text(OPENID, "/start")
        assert pushed.attempts == 1 and pushed.answer
        await all_delivered(api, app, OPENID)
        once_in_order(api, app, OPENID)
        assert api.inbox(OPENID)[0].how == "passive"
        assert {r.how for r in api.inbox(OPENID)[1:]} <= {"custom"}


async def test_forged_and_malformed_pushes_are_refused_and_nothing_happens(
    api: WeChatAPIServer, tmp_path: Path
) -> None:
    async with serving(tmp_path, api) as (app, _, push):
        xml = _xml({"ToUserName": "gh", "FromUserName": OPENID, "CreateTime": int(time.time()),
                    "MsgType": "text", "Content": "/start", "MsgId": 1})  # fmt: skip
        query, body = push.signed(OPENID, xml)
        cases: dict[str, tuple[dict[str, str], str]] = {
            "bad signature": ({**query, "signature": "0" * 40}, body),
            "bad msg_signature": ({**query, "msg_signature": "f" * 40}, body),
            "not XML": (query, "<xml><Encrypt>"),
        }
        garbage = "<xml><Encrypt><![CDATA[bm90IGNpcGhlcnRleHQ=]]></Encrypt></xml>"
        cases["undecryptable"] = _resigned(push, query, garbage)
        other = WeChatPush(push.client, push.token, "wx00000000000other", "b" * 43)
        other_query, other_body = other.signed(OPENID, xml)  # another account's key and AppID
        cases["another AppID"] = (other_query, other_body)
        same_key = WeChatPush(push.client, push.token, "wx00000000000other", "a" * 43)
        cases["our key, another AppID"] = same_key.signed(OPENID, xml)
        old = str(int(time.time()) - 301)
        stale_query, stale_body = push.signed(OPENID, xml)
        cases["timestamp 5 min off"] = _resigned(push, {**stale_query, "timestamp": old},
                                                 stale_body, timestamp=old)  # fmt: skip
        for why, (params, content) in cases.items():
            answer = await push.client.post("/wechat", params=params, content=content)
            assert 400 <= answer.status_code < 500, why
            assert "Traceback" not in answer.text and "success" not in answer.text, why
        await asyncio.sleep(0.6)
        assert app.store.count("conversation") == 0 and app.store.count("outbox") == 0
        assert not api.received and not [c for c in api.calls if "send" in c.path]


def _resigned(
    push: WeChatPush, query: dict[str, str], body: str, *, timestamp: str | None = None
) -> tuple[dict[str, str], str]:
    """``body`` with a signature and msg_signature that are right for it: only what is inside
    can be wrong."""
    import xmltodict

    from bot.channels.wechat_protocol import signature

    stamp = timestamp or query["timestamp"]
    encrypt = xmltodict.parse(body)["xml"]["Encrypt"]
    return {
        **query,
        "timestamp": stamp,
        "signature": signature(push.token, stamp, query["nonce"]),
        "msg_signature": signature(push.token, stamp, query["nonce"], encrypt),
    }, body


@pytest.mark.parametrize("together", [False, True], ids=["sequentially", "concurrently"])
async def test_the_same_message_three_times_gets_one_answer(
    api: WeChatAPIServer, tmp_path: Path, together: bool
) -> None:
    async with serving(tmp_path, api) as (app, _, push):
        msg_id = push.new_msg_id()
        if together:
            results = await asyncio.gather(*(push.text(OPENID, "/start", msg_id) for _ in "123"))
        else:
            results = [await push.text(OPENID, "/start", msg_id) for _ in "123"]
        assert sum(r.answer is not None for r in results) <= 1
        await all_delivered(api, app, OPENID)
        once_in_order(api, app, OPENID)


async def test_a_retry_at_another_process_while_the_first_is_handled_gets_no_second_answer(
    api: WeChatAPIServer, tmp_path: Path
) -> None:
    """Two processes on one database: WeChat's retry reaches B while A still handles the push.
    B's sender must not deliver A's replies as customer-service messages while A may still
    answer them passively (regression: it did, the merchant got the first reply twice)."""
    async with (
        serving(tmp_path, api) as (app, _, push_a),
        serving(tmp_path, api) as (_, _, push_b),
    ):
        handle = app.runtime.receive

        async def slow(event: Any, **kw: Any) -> Any:
            delivery = await handle(event, **kw)  # committed ...
            await asyncio.sleep(1.5)  # ... but the effects take a while
            return delivery

        app.runtime.receive = slow  # type: ignore[method-assign]
        msg_id = push_a.new_msg_id()
        first = asyncio.create_task(push_a.text(OPENID, "/start", msg_id))
        await asyncio.sleep(0.5)
        retry = await push_b.text(OPENID, "/start", msg_id)
        assert retry.answer is None
        assert (await first).answer is not None
        await all_delivered(api, app, OPENID)
        await asyncio.sleep(1.0)  # both senders poll twice a second
        once_in_order(api, app, OPENID)
        assert api.inbox(OPENID)[0].how == "passive"


async def test_a_slow_reply_is_success_then_a_customer_service_message(
    api: WeChatAPIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wechat, "PASSIVE_BUDGET", 0.5)
    async with serving(tmp_path, api) as (app, _, push):
        handle = app.runtime.receive

        async def slow(event: Any, **kw: Any) -> Any:
            await asyncio.sleep(1.0)  # past the budget: the engine (or the database) is slow
            return await handle(event, **kw)

        app.runtime.receive = slow  # type: ignore[method-assign]
        began = time.monotonic()
        pushed = await push.text(OPENID, "/start")
        assert pushed.answer is None and pushed.attempts == 1  # "success" in time
        assert time.monotonic() - began < 1.0
        await all_delivered(api, app, OPENID)
        once_in_order(api, app, OPENID)
        assert {r.how for r in api.inbox(OPENID)} == {"custom"}


async def test_a_push_outside_the_window_goes_as_the_template_message(
    api: WeChatAPIServer, tmp_path: Path
) -> None:
    async with serving(tmp_path, api) as (app, _, push):
        await push.text(OPENID, "/start")
        await all_delivered(api, app, OPENID)
        api.user_wrote(OPENID, at=time.time() - 49 * 3600)  # two days ago
        before = len(api.received)
        app.runtime.service.send("wechat", OPENID, "您的终端已回收，押金将在 3 个工作日内退回。")
        app.runtime.notifier.notify("wechat")
        await api.wait_for(lambda s: len(s.received) > before)
        await asyncio.sleep(0.6)
        [got] = api.received[before:]
        assert got.how == "template" and got.data == {
            "content": {"value": "您的终端已回收，押金将在 3 个工作日内退回。"}
        }
        assert (OPENID, 45015) in api.refused
        [last] = latest_replies(app.store, "wechat", OPENID, 1)
        assert last.item.payload["sent_as"] == "template"


async def test_over_the_quota_a_reply_is_kept_undelivered_and_a_push_goes_as_template(
    api: WeChatAPIServer, tmp_path: Path
) -> None:
    async with serving(tmp_path, api) as (app, _, push):
        await push.text(OPENID, "/start")
        await all_delivered(api, app, OPENID)
        api.user_wrote(OPENID)  # one more message of theirs: five customer-service messages
        for n in range(6):
            app.runtime.service.send("wechat", OPENID, f"人工客服第 {n} 条", key="handoff.agent")
        app.runtime.service.send("wechat", OPENID, "状态更新")  # an operator's push
        app.runtime.notifier.notify("wechat")
        await api.wait_for(lambda s: (OPENID, 45047) in s.refused and s.inbox(OPENID, "template"))
        await asyncio.sleep(0.6)
        custom = [r.text for r in api.received if r.how == "custom" and "人工客服第" in r.text]
        assert custom == [f"人工客服第 {n} 条" for n in range(5)]
        [kept] = [s for s in latest_replies(app.store, "wechat", OPENID, 3) if "第 5 条" in
                  s.item.payload["text"]]  # fmt: skip
        assert kept.item.payload["undelivered"] == "over_quota"  # kept, with the reason
        card = case_of(app.store, kept.item.conversation_id)  # the agent's case card shows it
        assert card is not None
        assert card.undelivered == [{"text": "人工客服第 5 条", "why": "over_quota"}]
        assert api.inbox(OPENID, "template")[0].text == "状态更新"


async def test_a_picture_gets_one_please_type_and_changes_nothing(
    api: WeChatAPIServer, tmp_path: Path
) -> None:
    async with serving(tmp_path, api) as (app, _, push):
        msg_id = push.new_msg_id()
        first = await push.image(OPENID, msg_id)
        again = await push.image(OPENID, msg_id)  # WeChat's retry
        assert first.answer and "请用文字回复" in first.answer and again.answer is None
        await asyncio.sleep(0.6)
        assert app.store.count("conversation") == 0 and app.store.count("outbox") == 0
        assert api.texts(OPENID) == [first.answer]


async def test_a_hundred_merchants_at_once_each_answered_exactly_once(
    api: WeChatAPIServer, tmp_path: Path
) -> None:
    merchants = [f"oMerchant{n:017d}" for n in range(MERCHANTS)]
    async with serving(tmp_path, api) as (app, _, push):
        began = time.monotonic()
        results = await asyncio.gather(*(push.text(m, "/start") for m in merchants))
        answered = time.monotonic() - began
        assert all(r.statuses[-1] == 200 for r in results), [r.statuses for r in results]
        retried = sum(r.attempts > 1 for r in results)  # WeChat's deadline missed: a retry
        expected = {m: committed(app, m) for m in merchants}  # every reply is committed by now
        await api.wait_for(lambda s: len(s.received) >= sum(map(len, expected.values())), 60)
        delivered = time.monotonic() - began
        await asyncio.sleep(0.6)
        for merchant in merchants:
            once_in_order(api, app, merchant)
        passive = sum(r.answer is not None for r in results)
        print(
            f"\n{MERCHANTS} pushes answered in {answered:.2f} s"
            f" ({passive} passively, {retried} retried)"
        )
        print(f"every reply delivered {delivered:.2f} s after the first push")
