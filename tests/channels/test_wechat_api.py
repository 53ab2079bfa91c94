"""posbot's WeChat API client (wechatpy underneath) against the fake of WeChat's API: the access
token fetched from ``POSBOT_WECHAT_API_BASE`` once and shared through the database, refreshed and
the call tried once more when WeChat calls it expired or invalid, "system busy" and 5xx tried
again with backoff, the window and the quota refusals not retried, the menu as WeChat takes it."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.wechat_api import WeChatApi
from bot.channels.wechat_text import menu_of
from bot.errors import PlatformRefused
from bot.store.tokens import AccessTokens
from tests.chat import Bot
from tests.wechat.api import WeChatAPIServer

OPENID = "oMerchant00000000000000001"


@pytest.fixture
async def server() -> AsyncIterator[WeChatAPIServer]:
    async with WeChatAPIServer() as started:
        yield started


def client(server: WeChatAPIServer, bot: Bot, secret: str = "secret") -> WeChatApi:
    tokens = AccessTokens(bot.app.store, "wechat")
    return WeChatApi(server.appid, secret, server.url, tokens, backoff=0.05)


async def test_the_token_is_fetched_from_the_api_base_once_and_shared(
    server: WeChatAPIServer, tmp_path: Path
) -> None:
    bot = Bot(tmp_path)
    first, second = client(server, bot), client(server, bot)  # two processes, one database
    server.user_wrote(OPENID)
    await first.send_text(OPENID, "一")
    await second.send_text(OPENID, "二")
    await first.send_text(OPENID, "三")
    assert server.token_fetches == 1
    assert server.texts(OPENID) == ["一", "二", "三"]


@pytest.mark.parametrize("ended", ["expire_tokens", "invalidate_tokens"])
async def test_a_refused_token_is_replaced_and_the_call_tried_once_more(
    server: WeChatAPIServer, tmp_path: Path, ended: str
) -> None:
    bot = Bot(tmp_path)
    api, other = client(server, bot), client(server, bot)
    server.user_wrote(OPENID)
    await api.send_text(OPENID, "before")
    getattr(server, ended)()  # 42001 / 40001 from now on
    await api.send_text(OPENID, "after")
    await other.send_text(OPENID, "shared")  # takes the new token from the database
    codes = [c.errcode for c in server.calls if c.path.endswith("custom/send")]
    assert codes == [0, 42001 if ended == "expire_tokens" else 40001, 0, 0]
    assert server.token_fetches == 2
    assert server.texts(OPENID) == ["before", "after", "shared"]


async def test_a_token_refused_twice_is_a_refusal_not_a_loop(
    tmp_path: Path,
) -> None:
    async with WeChatAPIServer(token_ttl=0) as server:  # every token is dead on arrival
        server.user_wrote(OPENID)
        with pytest.raises(PlatformRefused):
            await client(server, Bot(tmp_path)).send_text(OPENID, "x")
        assert server.token_fetches == 2 and not server.received


async def test_busy_and_5xx_are_tried_again_with_growing_waits(
    server: WeChatAPIServer, tmp_path: Path
) -> None:
    api = client(server, Bot(tmp_path))
    server.user_wrote(OPENID)
    await api.send_text(OPENID, "warm")  # the token is there
    server.fail_next(2, errcode=-1)
    server.fail_next(1, status=503)
    await api.send_text(OPENID, "through")
    tries = [c for c in server.calls if c.path.endswith("custom/send")][1:]
    assert [c.errcode for c in tries] == [-1, -1, -503, 0]
    gaps = [b.at - a.at for a, b in itertools.pairwise(tries)]
    assert gaps[0] >= 0.04 and gaps[1] >= 0.09 and gaps[2] >= 0.18  # 0.05 s, doubling
    assert server.texts(OPENID) == ["warm", "through"]


async def test_window_quota_and_credentials_are_refusals_tried_once(
    server: WeChatAPIServer, tmp_path: Path
) -> None:
    bot = Bot(tmp_path)
    api = client(server, bot)
    with pytest.raises(PlatformRefused) as outside:
        await api.send_text(OPENID, "never wrote")
    assert outside.value.code == 45015
    server.user_wrote(OPENID)
    for n in range(5):
        await api.send_text(OPENID, f"{n}")
    with pytest.raises(PlatformRefused) as over:
        await api.send_text(OPENID, "sixth")
    assert over.value.code == 45047
    assert [code for _, code in server.refused] == [45015, 45047]  # each asked once
    bad = WeChatApi(server.appid, "wrong", server.url, AccessTokens(Bot(tmp_path / "b").app.store,
                    "wechat"), backoff=0.05)  # fmt: skip
    with pytest.raises(PlatformRefused) as secret:
        await bad.send_text(OPENID, "x")
    assert secret.value.code == 40125


async def test_the_menu_is_one_wechat_accepts(server: WeChatAPIServer, tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    await client(server, bot).create_menu(menu_of(bot.app.engine.catalog, "zh_CN"))
    [menu] = server.menus
    names = [b["name"] for top in menu["button"] for b in top.get("sub_button") or [top]]
    assert names == ["注销", "停机", "进度", "人工"]
