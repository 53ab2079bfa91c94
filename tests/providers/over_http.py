"""A posbot app that files over HTTP: the chat test client's ``Bot``, its provider the HTTP
adapter, the sandbox behind it a service on 127.0.0.1 (sharing the test's clock), and posbot's
HTTP app served on 127.0.0.1 too, so the sandbox's webhooks reach it over a real socket."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import uvicorn

from bot.bootstrap import App, build
from bot.http import make_http
from bot.providers.config import Retries
from bot.providers.http import HttpProvider
from bot.providers.receiver import webhook_path
from bot.providers.sandbox_server import SandboxServer, loopback_socket
from tests.chat import Bot
from tests.providers.sandbox_http import TOKEN, WEBHOOK_SECRET, http_provider

FAST = Retries(attempts=3, backoff_seconds=0.01, max_backoff_seconds=0.05)


class HttpBot(Bot):
    def __init__(self, tmp: Path, *, provider_changes: dict[str, Any] | None = None) -> None:
        self.posbot_sock = loopback_socket()
        self.posbot_url = f"http://127.0.0.1:{self.posbot_sock.getsockname()[1]}"
        self.changes = {"retries": FAST, **(provider_changes or {})}
        self.sandbox_server: SandboxServer | None = None
        self.http_provider: HttpProvider | None = None
        self._posbot: tuple[uvicorn.Server, asyncio.Task[None]] | None = None
        super().__init__(tmp)

    def _build(self) -> App:
        if self.sandbox_server is None:
            self.sandbox_server = SandboxServer(
                self.provider,
                token=TOKEN,
                webhook_url=self.posbot_url + webhook_path("sandbox"),
                webhook_secret=WEBHOOK_SECRET,
                webhook_every=3600,  # only the test's ticks
            )
        self.http_provider = http_provider(self.sandbox_server.url, **self.changes)
        return build(self.settings, provider=self.http_provider, clock=self.clock.now)

    @property
    def sandbox(self) -> SandboxServer:
        assert self.sandbox_server is not None
        return self.sandbox_server

    async def start(self) -> None:
        await self.sandbox.start()
        config = uvicorn.Config(
            make_http(self.app, []), log_level="warning", log_config=None, lifespan="off"
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[self.posbot_sock]))
        while not server.started:
            await asyncio.sleep(0.01)
        self._posbot = (server, task)

    async def stop(self) -> None:
        if self._posbot is not None:
            server, task = self._posbot
            server.should_exit = True
            await task
        await self.sandbox.stop()
        if self.http_provider is not None:
            await self.http_provider.aclose()
        self.posbot_sock.close()
        self.app.store.engine.dispose()
