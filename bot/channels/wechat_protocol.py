"""WeChat's message push (消息推送), checked and opened: what reaches ``/wechat`` is WeChat's only
if its signature says so, and a passive reply goes back in the form (and the encryption) the
message came in.

- URL verification (GET): SHA-1 over the sorted token, timestamp and nonce; ``echostr`` back.
- Plain mode (POST): the same ``signature`` on the query string; the XML in the body.
- Safe mode (POST, ``encrypt_type=aes``): ``msg_signature`` is the SHA-1 over the sorted token,
  timestamp, nonce and the ``Encrypt`` element; the ciphertext (AES-256-CBC, the key from the
  43-character EncodingAESKey) ends with the AppID it was made for, which must be ours.

A request that fails any check — or whose timestamp is more than ``MAX_SKEW`` off, a replay —
is ``Refused`` with a 4xx status; nothing of it reaches the conversation. wechatpy does the
cryptography and the parsing; its types stay in this module and ``wechat_inbound``."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import xmltodict
from wechatpy.crypto import WeChatCrypto

MAX_SKEW = 300  # seconds a request's timestamp may be off this machine's clock
MAX_BODY = 64 * 1024  # WeChat's pushes are a few hundred bytes; more is not WeChat


class Refused(Exception):
    """A request that is not WeChat's (or not any more): answered with ``status``, nothing
    else. ``why`` is for the log, never the response."""

    def __init__(self, status: int, why: str) -> None:
        self.status = status
        self.why = why
        super().__init__(why)


@dataclass(frozen=True, slots=True)
class Opened:
    """A push that passed every check: its fields, and how a passive reply must go back."""

    fields: Mapping[str, Any]  # the message's XML elements (ToUserName, MsgType, Content, ...)
    encrypted: bool
    nonce: str


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


class Gate:
    """The checks of one 公众号: its Token, AppID and (safe mode) EncodingAESKey."""

    def __init__(
        self, token: str, appid: str, aes_key: str | None, *, clock: Any = time.time
    ) -> None:
        self.token = token
        self.appid = appid
        self.crypto = None if aes_key is None else WeChatCrypto(token, aes_key, appid)
        self.clock = clock

    def verify_url(self, query: Mapping[str, str]) -> str:
        """WeChat's URL verification: the ``echostr`` to answer with, exactly."""
        self._signed(query)
        echo = query.get("echostr")
        if echo is None:
            raise Refused(400, "no echostr")
        return echo

    def open(self, query: Mapping[str, str], body: bytes) -> Opened:
        if len(body) > MAX_BODY:
            raise Refused(413, "body too large")
        timestamp = query.get("timestamp", "")
        nonce = query.get("nonce", "")
        if not timestamp.isdigit() or abs(int(timestamp) - self.clock()) > MAX_SKEW:
            raise Refused(403, "timestamp missing or more than five minutes off")
        outer = _xml(body)
        if query.get("encrypt_type", "raw") == "aes":
            if self.crypto is None:
                raise Refused(400, "encrypted push, but no POSBOT_WECHAT_AES_KEY")
            if "signature" in query:
                self._signed(query)
            given = query.get("msg_signature", "")
            encrypt = str(outer.get("Encrypt") or "")
            if not encrypt or not hmac.compare_digest(
                given, signature(self.token, timestamp, nonce, encrypt)
            ):
                raise Refused(403, "bad msg_signature")
            try:
                plain = self.crypto.decrypt_message({"Encrypt": encrypt}, given, timestamp, nonce)
            except Exception as exc:  # wechatpy raises anything from ValueError to struct.error
                raise Refused(400, f"ciphertext not ours ({type(exc).__name__})") from None
            return Opened(_xml(str(plain).encode()), encrypted=True, nonce=nonce)
        self._signed(query)
        return Opened(outer, encrypted=False, nonce=nonce)

    def seal(self, opened: Opened, reply_xml: str) -> str:
        """A passive reply in the form the push came in: encrypted when it was."""
        if not opened.encrypted or self.crypto is None:
            return reply_xml
        return str(self.crypto.encrypt_message(reply_xml, opened.nonce, str(int(self.clock()))))

    def _signed(self, query: Mapping[str, str]) -> None:
        expected = signature(self.token, query.get("timestamp", ""), query.get("nonce", ""))
        if not hmac.compare_digest(query.get("signature", ""), expected):
            raise Refused(403, "bad signature")


def _xml(body: bytes) -> Mapping[str, Any]:
    try:
        parsed = xmltodict.parse(body, disable_entities=True)
    except Exception as exc:  # expat errors, entities, a document of nothing
        raise Refused(400, f"not XML ({type(exc).__name__})") from None
    root = parsed.get("xml") if isinstance(parsed, dict) else None
    if not isinstance(root, dict):
        raise Refused(400, "no <xml> root")
    return root


def text_reply(to: str, account: str, text: str, now: float) -> str:
    """A passive text reply. CDATA cannot hold "]]>": such text is split across sections."""
    safe = text.replace("]]>", "]]]]><![CDATA[>")
    return (
        f"<xml><ToUserName><![CDATA[{_cdata(to)}]]></ToUserName>"
        f"<FromUserName><![CDATA[{_cdata(account)}]]></FromUserName>"
        f"<CreateTime>{int(now)}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{safe}]]></Content></xml>"
    )


def _cdata(value: str) -> str:
    return value.replace("]]>", "")
