"""``posbot run`` on WeChat as a black box: only the POSBOT_WECHAT_* variables, WeChat's push
over HTTP (safe mode) and the fake of WeChat's API. ``posbot send --channel wechat`` is delivered
by the running process within 2 seconds: a customer-service message inside the 48-hour window,
the template message (text in its main field) outside it — exactly one of the two."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.processes import free_port, posbot_env
from tests.wechat.api import WeChatAPIServer
from tests.wechat.push import WeChatPush
from tests.wechat.serving import AES, TEMPLATE, TOKEN

INSIDE, OUTSIDE = "oInsideWindow0000000000001", "oOutsideWindow000000000001"


async def test_posbot_run_answers_wechat_and_delivers_posbot_send(tmp_path: Path) -> None:
    async with WeChatAPIServer(secret="wechat-app-s3cret-4f9a", templates=(TEMPLATE,)) as api:
        port = free_port()
        env = posbot_env(
            tmp_path,
            POSBOT_HTTP_PORT=str(port),
            POSBOT_WECHAT_TOKEN=TOKEN,
            POSBOT_WECHAT_APPID=api.appid,
            POSBOT_WECHAT_SECRET=api.secret,
            POSBOT_WECHAT_AES_KEY=AES,
            POSBOT_WECHAT_API_BASE=api.url,
            POSBOT_WECHAT_TEMPLATE_ID=TEMPLATE,
            POSBOT_WECHAT_TEMPLATE_FIELD="first",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                push = WeChatPush(client, TOKEN, api.appid, AES, api=api)
                query, _ = push.signed(INSIDE, "<xml/>")
                for _ in range(600):  # up within a minute
                    try:
                        check = await client.get("/wechat", params={**query, "echostr": "e1"})
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                assert (check.status_code, check.text) == (200, "e1")  # URL verification
                for openid in (INSIDE, OUTSIDE):
                    assert (await push.text(openid, "/start")).answer
                await api.wait_for(lambda s: len(s.texts(OUTSIDE)) >= 2, 10)
                api.user_wrote(OUTSIDE, at=time.time() - 49 * 3600)  # their window has closed

                for openid, text in ((INSIDE, "快递单号 SF123"), (OUTSIDE, "您的押金已退回")):
                    before = len(api.inbox(openid))
                    sent = subprocess.run(
                        [sys.executable, "-m", "bot", "send", "--channel", "wechat",
                         "--user", openid, text],
                        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                    )  # fmt: skip
                    assert sent.returncode == 0, sent.stderr
                    queued = time.monotonic()
                    await api.wait_for(lambda s, o=openid, b=before: len(s.inbox(o)) > b, 2.0)
                    took = time.monotonic() - queued
                    await asyncio.sleep(1.0)  # a second copy would come by now
                    [got] = api.inbox(openid)[before:]
                    assert got.text == text and took < 2.0
                    print(f"posbot send to {openid} delivered as {got.how} in {took:.2f} s")
                    if openid == INSIDE:
                        assert got.how == "custom"
                    else:
                        assert got.how == "template" and got.data == {"first": {"value": text}}
                        assert (OUTSIDE, 45015) in api.refused
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), timeout=20)
        assert process.returncode == 0, err.decode()[-2000:]
        assert api.secret not in out.decode() + err.decode()
        assert api.token_fetches == 1
