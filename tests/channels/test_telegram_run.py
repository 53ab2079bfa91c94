"""``posbot run`` on Telegram as a real process, against the fake Bot API server, on each
runtime (``POSBOT_TELEGRAM_RUNTIME``): a merchant's replies in flight when the process is killed
with SIGKILL arrive after the restart — each once — and SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from pathlib import Path

from tests.processes import free_port, posbot_env
from tests.telegram.bot_api import BotAPIServer

USER = 515151


async def start(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_replies_in_flight_at_a_kill_arrive_once_after_the_restart(
    tmp_path: Path, telegram_runtime: str
) -> None:
    async with BotAPIServer(per_chat_per_second=20, burst=20, per_bot_per_second=100) as server:
        env = posbot_env(
            tmp_path,
            POSBOT_HTTP_PORT=str(free_port()),
            POSBOT_TELEGRAM_TOKEN=server.token,
            POSBOT_TELEGRAM_API_BASE=server.url,
            POSBOT_TELEGRAM_RUNTIME=telegram_runtime,
            POSBOT_SANDBOX_CODE="246810",
        )
        process = await start(env, tmp_path)
        server.send_text(USER, "/start")
        await server.wait_for(lambda s: len(s.sent(USER)) >= 2, timeout=60)
        # a burst: the bot answers at about a message a second, so replies are in flight ...
        for text in ("/deregister", "102100058120001", "LKL8A2301234", "13800138000"):
            server.send_text(USER, text)
        await server.wait_for(lambda s: len(s.sent(USER)) >= 3, timeout=30)
        # the next replies wait for their turn (about one a second to a chat); the one just
        # sent has been recorded as sent. (Between Telegram's answer and that record there is a
        # window of a millisecond that no Bot API call can close: a kill exactly there sends
        # that one reply again.)
        await asyncio.sleep(0.4)
        assert len(server.sent(USER)) < 6, "replies still in flight"
        process.send_signal(signal.SIGKILL)  # ... when the process dies
        await process.wait()
        env["POSBOT_HTTP_PORT"] = str(free_port())
        process = await start(env, tmp_path)
        await server.wait_for(
            lambda s: any("1021*******0001" in (m["text"] or "") for m in s.sent(USER)), timeout=60
        )
        await asyncio.sleep(1.5)  # anything sent twice would have arrived by now
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), timeout=20)
        assert process.returncode == 0, err.decode()[-2000:]
        texts = [m["text"] for m in server.sent(USER)]
        twice = [t for t, n in Counter(texts).items() if n > 1]
        assert twice == [], f"sent more than once: {twice}"
        assert server.commands, "commands registered"
        assert server.token not in out.decode() + err.decode()


async def test_posbot_run_by_webhook_answers_and_refuses_a_wrong_secret(
    tmp_path: Path, telegram_runtime: str
) -> None:
    import httpx

    async with BotAPIServer(per_chat_per_second=20, burst=20, per_bot_per_second=100) as server:
        port = free_port()
        env = posbot_env(
            tmp_path,
            POSBOT_HTTP_PORT=str(port),
            POSBOT_TELEGRAM_TOKEN=server.token,
            POSBOT_TELEGRAM_API_BASE=server.url,
            POSBOT_TELEGRAM_RUNTIME=telegram_runtime,
            POSBOT_TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/tg/hook",
            POSBOT_TELEGRAM_WEBHOOK_SECRET="s3cret_token-1",
        )
        process = await start(env, tmp_path)
        try:
            await server.wait_for(lambda s: s.webhook is not None, timeout=60)
            server.send_text(USER, "/start")  # delivered by POST to posbot's own HTTP app
            await server.wait_for(lambda s: len(s.sent(USER)) >= 2, timeout=30)
            async with httpx.AsyncClient() as client:
                forged = await client.post(
                    f"http://127.0.0.1:{port}/tg/hook",
                    json={"update_id": 1, "message": {"message_id": 1, "date": 0,
                          "chat": {"id": 9, "type": "private"}, "text": "/start"}},
                    headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
                )  # fmt: skip
            assert forged.status_code == 401
            assert not server.sent(9)
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), timeout=20)
        assert process.returncode == 0, err.decode()[-2000:]
        assert "webhook" in out.decode() and f"on {telegram_runtime}" in out.decode()
