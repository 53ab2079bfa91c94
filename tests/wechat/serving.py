"""posbot's WeChat channel served over real HTTP in the test's loop (uvicorn on 127.0.0.1), its
sender running, its API calls going to a ``WeChatAPIServer``: WeChat's push reaches it with
WeChat's deadline, as in production. Two of them on one database are two processes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bot.bootstrap import App, build
from bot.channels.wechat import WeChatChannel
from bot.http import make_http
from bot.settings import Settings
from tests.processes import free_port
from tests.wechat.api import WeChatAPIServer
from tests.wechat.push import WeChatPush

TOKEN, AES = "posbottoken", "a" * 43
TEMPLATE = "TPL_STATUS"


@contextlib.asynccontextmanager
async def serving(
    tmp: Path, api: WeChatAPIServer, *, aes: bool = True, **settings: Any
) -> AsyncIterator[tuple[App, WeChatChannel, WeChatPush]]:
    """posbot on ``tmp``'s database with the WeChat channel; yields the app, the channel and
    WeChat's push pointed at it."""
    config = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite:///{tmp / 'posbot.db'}",
        sandbox_database=f"sqlite:///{tmp / 'sandbox.db'}",
        wechat_token=TOKEN,
        wechat_appid=api.appid,
        wechat_secret=api.secret,
        wechat_aes_key=AES if aes else None,
        wechat_api_base=api.url,
        wechat_template_id=TEMPLATE,
        **settings,
    )
    app = build(config)
    channel = WeChatChannel(config, app)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(make_http(app, [channel]), host="127.0.0.1", port=port, log_config=None)
    )
    task = asyncio.create_task(server.serve())
    await channel.start()
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            yield app, channel, WeChatPush(client, TOKEN, api.appid, AES if aes else None, api=api)
    finally:
        await channel.stop()
        server.should_exit = True
        await task
        app.store.engine.dispose()
