"""A console to test against: the app of tests.chat on posbot's HTTP app (in process, over
httpx's ASGI transport), agents made in the store, and a logged-in client per agent."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.console.auth import hash_password
from bot.http import make_http
from tests.chat import Bot

PASSWORD = "correct horse battery"


class Agent:
    """A browser logged in to the console as one agent."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.csrf = ""

    async def log_in(self, name: str, password: str = PASSWORD) -> httpx.Response:
        form = await self.http.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token is not None
        answer = await self.http.post(
            "/console/login", data={"csrf": token.group(1), "name": name, "password": password}
        )
        if answer.headers.get("location", "").startswith("/console/inbox"):
            page = await self.http.get("/console/inbox")
            found = re.search(r'name="csrf" value="([^"]+)"', page.text)
            self.csrf = found.group(1) if found else ""
        return answer

    async def post(self, path: str, **form: str) -> httpx.Response:
        return await self.http.post(path, data={"csrf": self.csrf, **form})


@pytest.fixture
def bot(tmp_path: Path) -> Bot:
    built = Bot(tmp_path, secret_key_file=tmp_path / "secret_key")
    for name, role in (("alice", "agent"), ("bob", "agent"), ("root", "admin")):
        built.app.store.add_agent(name, role, hash_password(PASSWORD))
    return built


@pytest.fixture
async def browsers(bot: Bot) -> AsyncIterator[dict[str, Agent]]:
    http = make_http(bot.app, [])
    transport = httpx.ASGITransport(app=http, client=("127.0.0.9", 5555))
    clients = {
        name: httpx.AsyncClient(transport=transport, base_url="http://console.test")
        for name in ("alice", "bob", "root", "anonymous")
    }
    agents = {name: Agent(client) for name, client in clients.items()}
    for name in ("alice", "bob", "root"):
        answer = await agents[name].log_in(name)
        assert answer.status_code == 303, answer.text
    yield agents
    for client in clients.values():
        await client.aclose()
