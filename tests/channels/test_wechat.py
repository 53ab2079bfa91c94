"""The WeChat channel's endpoint, posted to as WeChat does: URL verification, forged and
replayed pushes refused, a text answered passively (plain and encrypted), a retry answered
once, a picture answered with "please type". No network: the API is never needed here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from bot.bootstrap import build
from bot.channels.wechat import WeChatChannel
from bot.channels.wechat_protocol import signature
from bot.http import make_http
from bot.settings import Settings

TOKEN, APPID, AES = "posbottoken", "wx0123456789abcdef", "a" * 43
OPENID = "oUser0000000000000000000001"


def query(**extra: str) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), "12345"
    return {
        "timestamp": timestamp,
        "nonce": nonce,
        "signature": signature(TOKEN, timestamp, nonce),
        **extra,
    }


def text_xml(content: str, msg_id: int, kind: str = "text") -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_account]]></ToUserName>"
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>{int(time.time())}"
        f"</CreateTime><MsgType><![CDATA[{kind}]]></MsgType><Content><![CDATA[{content}]]>"
        f"</Content><MsgId>{msg_id}</MsgId></xml>"
    )


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'p.db'}",
        sandbox_database=f"sqlite:///{tmp_path / 's.db'}",
        wechat_token=TOKEN,
        wechat_appid=APPID,
        wechat_secret="secret",
        wechat_aes_key=AES,
        wechat_api_base="http://127.0.0.1:9",
    )
    app = build(settings)
    http = make_http(app, [WeChatChannel(settings, app)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(http), base_url="http://t") as c:
        yield c
    app.store.engine.dispose()


async def test_url_verification_returns_echostr_exactly(client: httpx.AsyncClient) -> None:
    answer = await client.get("/wechat", params=query(echostr="9876543210abc"))
    assert (answer.status_code, answer.text) == (200, "9876543210abc")
    forged = {**query(echostr="x"), "signature": "0" * 40}
    assert (await client.get("/wechat", params=forged)).status_code == 403


async def test_forged_and_replayed_pushes_are_refused(client: httpx.AsyncClient) -> None:
    body = text_xml("你好", 1)
    forged = {**query(), "signature": "0" * 40}
    assert (await client.post("/wechat", params=forged, content=body)).status_code == 403
    old = str(int(time.time()) - 400)
    replayed = {"timestamp": old, "nonce": "1", "signature": signature(TOKEN, old, "1")}
    assert (await client.post("/wechat", params=replayed, content=body)).status_code == 403
    bad = await client.post("/wechat", params=query(), content=b"<xml><oops")
    assert bad.status_code == 400 and "Traceback" not in bad.text


async def test_text_is_answered_passively_once(client: httpx.AsyncClient) -> None:
    body = text_xml("你好", 42)
    answers = await asyncio.gather(
        *(client.post("/wechat", params=query(), content=body) for _ in range(3))
    )
    replies = [a for a in answers if a.text != "success"]
    assert len(replies) == 1 and all(a.status_code == 200 for a in answers)
    reply = xmltodict.parse(replies[0].text)["xml"]
    assert reply["ToUserName"] == OPENID and reply["MsgType"] == "text" and reply["Content"]
    again = await client.post("/wechat", params=query(), content=body)
    assert again.text == "success"


async def test_safe_mode_round_trip(client: httpx.AsyncClient) -> None:
    crypto = WeChatCrypto(TOKEN, AES, APPID)
    params = query()
    sealed = xmltodict.parse(
        crypto.encrypt_message(text_xml("你好", 7), params["nonce"], params["timestamp"])
    )["xml"]
    params.update(encrypt_type="aes", msg_signature=sealed["MsgSignature"])
    body = f"<xml><ToUserName>gh_account</ToUserName><Encrypt>{sealed['Encrypt']}</Encrypt></xml>"
    answer = await client.post("/wechat", params=params, content=body)
    outer = xmltodict.parse(answer.text)["xml"]
    inner = crypto.decrypt_message(
        answer.text, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"]
    )
    assert xmltodict.parse(inner)["xml"]["ToUserName"] == OPENID
    other = WeChatCrypto(TOKEN, AES, "wxsomeoneelse00000")
    sealed = xmltodict.parse(
        other.encrypt_message(text_xml("hi", 8), params["nonce"], params["timestamp"])
    )["xml"]
    params["msg_signature"] = sealed["MsgSignature"]
    body = f"<xml><Encrypt>{sealed['Encrypt']}</Encrypt></xml>"
    assert (await client.post("/wechat", params=params, content=body)).status_code == 400
    params["msg_signature"] = "0" * 40
    assert (await client.post("/wechat", params=params, content=body)).status_code == 403


async def test_a_picture_gets_please_type(client: httpx.AsyncClient) -> None:
    answer = await client.post("/wechat", params=query(), content=text_xml("", 9, "image"))
    assert "请用文字回复" in xmltodict.parse(answer.text)["xml"]["Content"]
