"""``posbot run`` as a real process serves the web chat at ``/``, says where, answers a merchant
over HTTP, and stops at once on SIGTERM even with a page's stream open."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

import httpx

from tests.processes import free_port, posbot_env

START_SECONDS = 30.0


async def test_posbot_run_serves_the_web_chat(tmp_path: Path) -> None:
    port = free_port()
    env = posbot_env(tmp_path, POSBOT_HTTP_PORT=str(port), POSBOT_SANDBOX_CODE="246810")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            page = await _first_answer(client, "/")
            assert page.status_code == 200 and 'id="messages"' in page.text
            answer = await client.post("/chat/messages", json={"id": "start", "text": "/start"})
            assert answer.status_code == 200 and answer.json()["replies"]

            async with client.stream("GET", "/chat/stream?after=0") as stream:
                assert stream.status_code == 200
                began = time.monotonic()
                process.send_signal(signal.SIGTERM)  # a page is still connected
                out, err = await asyncio.wait_for(process.communicate(), 20)
        assert time.monotonic() - began < 4.0, "the open stream held the stop up"
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()[-2000:]
    lines = out.decode().splitlines()
    assert f"posbot run: web chat: {base}/" in lines
    assert lines[-1] == "posbot run: stopped"
    assert (tmp_path / "var" / "secret_key").exists()  # made once, kept for the next start


async def _first_answer(client: httpx.AsyncClient, path: str) -> httpx.Response:
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            return await client.get(path)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
