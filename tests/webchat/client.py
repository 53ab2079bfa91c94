"""A merchant's browser for tests, minus the browser: the web chat's HTTP API driven the way
``chat.js`` drives it (history, a message id made once per message, taps on the latest
buttons), against the ASGI app in-process — or its Server-Sent Events from a real uvicorn
server on a free port, since httpx's ASGI transport cannot stream."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from bot.channels.webchat.channel import WebChatChannel
from bot.http import make_http
from bot.server import listen
from tests.chat import Bot

SECRET = "a-test-secret-key-of-some-length"
_ids = itertools.count(1)


def web_bot(tmp: Path, **overrides: Any) -> tuple[Bot, FastAPI]:
    bot = Bot(tmp, secret_key=SECRET, **overrides)
    return bot, make_http(bot.app, [WebChatChannel(bot.app)])


class Visitor:
    """One browser: its cookie jar, the replies it has shown (by id), the lines it sent."""

    def __init__(self, http: FastAPI | None = None, *, base_url: str = "http://testserver") -> None:
        transport = httpx.ASGITransport(app=http) if http is not None else None
        self.client = httpx.AsyncClient(transport=transport, base_url=base_url, timeout=10)
        self.replies: dict[int, dict[str, Any]] = {}

    async def __aenter__(self) -> Visitor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def open(self, accept_language: str = "zh-CN,zh;q=0.9,en;q=0.8") -> httpx.Response:
        """GET / (the cookie), the history, and /start for someone new — as the page does."""
        self.client.headers["Accept-Language"] = accept_language
        page = await self.client.get("/")
        assert page.status_code == 200, page.text
        items = await self.history()
        if not items:
            await self.post({"id": "start", "text": "/start"})
        return page

    async def history(self) -> list[dict[str, Any]]:
        answer = await self.client.get("/chat/history")
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        self.replies.update({i["id"]: i for i in items if i["kind"] == "reply"})
        return items

    async def post(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = await self.client.post("/chat/messages", json=body)
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()
        self.replies.update({r["id"]: r for r in data["replies"]})
        return data

    async def say(self, text: str, client_id: str | None = None) -> list[dict[str, Any]]:
        """Type a line; the replies it led to."""
        body = {"id": client_id or f"m{next(_ids)}", "text": text}
        return list((await self.post(body))["replies"])

    def latest_buttons(self) -> dict[str, Any]:
        return next(r for _, r in sorted(self.replies.items(), reverse=True) if r["buttons"])

    async def tap(self, value: str) -> list[dict[str, Any]]:
        """Tap the button with that value on the latest message with buttons."""
        board = self.latest_buttons()
        values = [b["value"] for b in board["buttons"] if b["value"].split("@")[0] == value]
        assert values, (value, board["buttons"])  # "yes" is "yes@confirm_details" on the wire
        body = {"id": f"t{next(_ids)}", "tap": {"message": board["id"], "value": values[0]}}
        return list((await self.post(body))["replies"])

    @property
    def last(self) -> dict[str, Any]:
        return self.replies[max(self.replies)]

    def said_keys(self) -> list[str]:
        return [key for _, r in sorted(self.replies.items()) for key in r["keys"]]


@asynccontextmanager
async def served(http: FastAPI) -> AsyncIterator[str]:
    """The app on a real uvicorn server on 127.0.0.1 and a free port; its base URL."""
    sock = listen("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(http, log_level="warning", log_config=None))
    http.state.exiting = lambda: server.should_exit
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


async def read_events(
    client: httpx.AsyncClient, count: int, *, after: int | None = None, last_event_id: str = ""
) -> list[tuple[int, dict[str, Any]]]:
    """The first ``count`` reply events of ``/chat/stream`` (id, data), then the stream is
    closed, as a browser closes a tab."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    url = "/chat/stream" if after is None else f"/chat/stream?after={after}"
    events: list[tuple[int, dict[str, Any]]] = []
    async with client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        current: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line == "":
                if current.get("event") == "reply":
                    events.append((int(current["id"]), json.loads(current["data"])))
                    if len(events) == count:
                        break
                current = {}
            elif not line.startswith(":"):
                field, _, value = line.partition(":")
                current[field] = value.removeprefix(" ")
    return events
