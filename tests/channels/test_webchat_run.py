"""``posbot run`` as a real process serves the web chat at ``/``, says where, answers a merchant
over HTTP, and stops at once on SIGTERM even with a page's stream open. In demo mode the
sandbox's one-time code is printed where it runs: the only phone a demo has."""

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
    said: list[str] = []  # what it printed before the test read on to the end
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            page = await _first_answer(client, "/")
            assert page.status_code == 200 and 'id="messages"' in page.text
            answer = await client.post("/chat/messages", json={"id": "start", "text": "/start"})
            assert answer.status_code == 200 and answer.json()["replies"]
            for n, text in enumerate(("/deregister", "102100058120001", "LKL8A2301234")):
                await client.post("/chat/messages", json={"id": f"d{n}", "text": text})
            answer = await client.post("/chat/messages", json={"id": "p", "text": "13800138000"})
            [board] = [r for r in answer.json()["replies"] if r["buttons"]]
            yes = {"message": board["id"], "value": board["buttons"][0]["value"]}
            answer = await client.post("/chat/messages", json={"id": "yes", "tap": yes})
            assert "ask.code" in answer.json()["replies"][-1]["keys"]
            assert process.stdout is not None
            sms = await asyncio.wait_for(_line_with(process.stdout, "sandbox SMS", said), 10)
            assert sms == "posbot run: [sandbox SMS to 138****8000: 246810]"

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
    lines = [*said, *out.decode().splitlines()]
    assert lines[0] == f"posbot run: web chat: {base}/"  # first: what to open
    assert f"posbot run: console: {base}/console" in lines
    assert lines[-1] == "posbot run: stopped"
    assert (tmp_path / "var" / "secret_key").exists()  # made once, kept for the next start


async def _line_with(stream: asyncio.StreamReader, text: str, said: list[str]) -> str:
    """The first line the process prints that holds ``text`` (the lines before it are kept in
    ``said``): printed at once, not when the process ends."""
    while True:
        line = (await stream.readline()).decode().rstrip("\n")
        if not line:
            raise AssertionError(f"no line with {text!r} in {said}")
        said.append(line)
        if text in line:
            return line


async def _first_answer(client: httpx.AsyncClient, path: str) -> httpx.Response:
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            return await client.get(path)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
