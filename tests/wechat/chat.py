"""The conversation tests' chat client over WeChat: every turn is a push to posbot's ``/wechat``
(signed, in safe mode, as WeChat sends it) and what the bot said is read from the outbox — the
passive reply included. A tap is the option's number typed, as a merchant on WeChat answers."""

from __future__ import annotations

from typing import Any

import httpx

from bot.channels.wechat import WeChatChannel
from bot.engine.events import InboundEvent
from bot.http import make_http
from bot.store.chat_log import latest_replies
from tests.chat import Bot, Client, Said
from tests.wechat.push import WeChatPush

TOKEN, APPID, AES = "posbottoken", "wx0123456789abcdef", "a" * 43
SETTINGS = {
    "wechat_token": TOKEN,
    "wechat_appid": APPID,
    "wechat_secret": "secret",
    "wechat_aes_key": AES,
    "wechat_api_base": "http://127.0.0.1:9",  # never called: the sender does not run here
}


class WeChatClient(Client):
    channel = "wechat"

    def __init__(self, bot: Bot, user: str, locale: str | None) -> None:
        super().__init__(bot, user, locale)
        self.seen = 0  # the last outbox id read
        self.last_msg_id: int | None = None
        self.last_text = ""
        self._http: tuple[Any, Any] | None = None

    def _push(self) -> WeChatPush:
        app = self.bot.app
        if self._http is None or self._http[0] is not app:  # built again after a restart
            self._http = (app, make_http(app, [WeChatChannel(self.bot.settings, app)]))
        transport = httpx.ASGITransport(self._http[1])
        return WeChatPush(httpx.AsyncClient(transport=transport, base_url="http://t"), TOKEN,
                          APPID, AES)  # fmt: skip

    async def send(self, text: str) -> Said:
        self.last_msg_id, self.last_text = WeChatPush.new_msg_id(), text
        return await self._again()

    async def tap(self, value: str) -> Said:
        """The number of the option whose value is ``value`` on the latest reply; an earlier
        reply's option: its label typed."""
        last = self.bot.app.runtime.last_reply("wechat", self.user)
        buttons = [] if last is None else last.payload.get("buttons") or []
        for number, (_, each) in enumerate(buttons, 1):
            if value in (each, each.split("@")[0]):
                return await self.send(str(number))
        for reply in reversed(latest_replies(self.bot.app.store, "wechat", self.user, 50)):
            for label, each in reply.item.payload.get("buttons") or []:  # an earlier message's:
                if value in (each, each.split("@")[0]):  # its words typed, as a merchant would
                    return await self.send(label)
        raise AssertionError(f"no option {value!r} in {buttons}")

    async def replay(self) -> Said:
        return await self._again()

    async def share_contact(self, phone: str, *, own: bool) -> Said:
        raise NotImplementedError("WeChat has no contact sharing")

    async def deliver(self, event: InboundEvent) -> Said:
        raise NotImplementedError("over WeChat every turn is a push")

    async def _again(self) -> Said:
        push = self._push()
        async with push.client:
            pushed = await push.text(self.user, self.last_text, self.last_msg_id)
        assert pushed.statuses == [200], pushed.statuses
        return self.read()

    def read(self) -> Said:
        replies = latest_replies(self.bot.app.store, "wechat", self.user, 200)
        new = [r.item for r in replies if r.item.id > self.seen]
        if new:
            self.seen = new[-1].id
        self.bot.app.runtime.delivered(new)
        said: list[dict[str, Any]] = [item.payload for item in new]
        return Said(said)
