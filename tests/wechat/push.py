"""WeChat's side of the message push (消息推送): XML posted to the account's URL exactly as WeChat
posts it — signed, and in safe mode AES-encrypted with ``msg_signature`` — with WeChat's
5-second deadline and its three attempts.

    wechat = WeChatPush(client, TOKEN, APPID, AES, api=server)
    result = await wechat.text(OPENID, "你好", msg_id=1)
    result.answer        # the passive reply's text (decrypted, signature checked), or None
    result.attempts      # how many times WeChat posted it (a timeout or an error: again)

With ``api`` (a ``WeChatAPIServer``) each merchant message opens the 48-hour window there, and a
passive reply is recorded in the merchant's inbox, so ``api.inbox`` is all they saw."""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import xmltodict
from wechatpy.crypto import WeChatCrypto

from bot.channels.wechat_protocol import signature
from tests.wechat.api import WeChatAPIServer

DEADLINE = 5.0  # seconds WeChat waits for an answer
ATTEMPTS = 3
ACCOUNT = "gh_0123456789ab"  # the account's original id (ToUserName)
_ids = itertools.count(int(time.time() * 1000) % 10**9 * 1000)


@dataclass
class Pushed:
    answer: str | None = None  # the passive reply's text
    attempts: int = 0
    statuses: list[int | str] = field(default_factory=list)  # each attempt: status or "timeout"


class WeChatPush:
    def __init__(
        self,
        client: httpx.AsyncClient,
        token: str,
        appid: str,
        aes_key: str | None = None,
        *,
        path: str = "/wechat",
        api: WeChatAPIServer | None = None,
        deadline: float = DEADLINE,
    ) -> None:
        self.client = client
        self.token, self.appid = token, appid
        self.crypto = None if aes_key is None else WeChatCrypto(token, aes_key, appid)
        self.path = path
        self.api = api
        self.deadline = deadline

    @staticmethod
    def new_msg_id() -> int:
        return next(_ids)

    # ---- the messages ----------------------------------------------------------------------

    async def text(self, openid: str, content: str, msg_id: int | None = None) -> Pushed:
        return await self.push(openid, "text", {"Content": content}, msg_id)

    async def image(self, openid: str, msg_id: int | None = None) -> Pushed:
        fields = {"PicUrl": "http://mmbiz.qpic.cn/x", "MediaId": "media_1"}
        return await self.push(openid, "image", fields, msg_id)

    async def event(self, openid: str, event: str, key: str = "") -> Pushed:
        fields = {"Event": event, **({"EventKey": key} if key else {})}
        return await self.push(openid, "event", fields, None)

    async def push(
        self, openid: str, kind: str, fields: dict[str, str], msg_id: int | None
    ) -> Pushed:
        created = int(time.time())
        message: dict[str, Any] = {
            "ToUserName": ACCOUNT,
            "FromUserName": openid,
            "CreateTime": created,
            "MsgType": kind,
            **fields,
        }
        if kind != "event":
            message["MsgId"] = self.new_msg_id() if msg_id is None else msg_id
        if self.api is not None:  # a message, a subscription or a click opens the window
            self.api.user_wrote(openid)
        return await self.post_xml(openid, _xml(message))

    # ---- the wire --------------------------------------------------------------------------

    def signed(self, openid: str, xml: str) -> tuple[dict[str, str], str]:
        """The query string and body WeChat sends for ``xml``."""
        timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
        query = {
            "signature": signature(self.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": openid,
        }
        if self.crypto is None:
            return query, xml
        sealed = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, timestamp))["xml"]
        query |= {"encrypt_type": "aes", "msg_signature": sealed["MsgSignature"]}
        body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt></xml>"  # noqa: E501
        return query, body

    async def post_xml(self, openid: str, xml: str) -> Pushed:
        """Post as WeChat does: up to three attempts, each given ``deadline`` seconds; an
        answer other than a 200 counts as none (WeChat tries again)."""
        result = Pushed()
        for _ in range(ATTEMPTS):
            result.attempts += 1
            query, body = self.signed(openid, xml)
            try:
                response = await self.client.post(
                    self.path, params=query, content=body, timeout=self.deadline
                )
            except httpx.TimeoutException:
                result.statuses.append("timeout")
                continue
            result.statuses.append(response.status_code)
            if response.status_code != 200:
                continue
            result.answer = self.opened(response.text)
            if result.answer is not None and self.api is not None:
                self.api.record_passive(openid, result.answer)
            return result
        return result

    def opened(self, answer: str) -> str | None:
        """A passive reply's text; None for ``success`` or an empty answer."""
        if answer.strip() in ("", "success"):
            return None
        if self.crypto is not None:
            outer = xmltodict.parse(answer)["xml"]
            answer = self.crypto.decrypt_message(  # checks MsgSignature and our AppID
                answer, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"]
            )
        return str(xmltodict.parse(answer)["xml"]["Content"])


def _xml(fields: dict[str, Any]) -> str:
    inner = "".join(
        f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}><![CDATA[{v}]]></{k}>"
        for k, v in fields.items()
    )
    return f"<xml>{inner}</xml>"
