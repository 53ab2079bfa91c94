"""Runs the sandbox service on a loopback socket: for ``posbot sandbox-provider``, beside
``posbot run`` and ``posbot chat`` (on a free port, when no other provider is configured), and
in tests. Its webhook sender, when it has a URL, ticks in the same loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

import uvicorn

from bot.providers.sandbox import SandboxProvider
from bot.providers.sandbox_faults import Faults
from bot.providers.sandbox_service import make_sandbox_app
from bot.providers.sandbox_webhooks import WebhookSender

log = logging.getLogger("posbot.sandbox")


def loopback_socket(port: int = 0, host: str = "127.0.0.1") -> socket.socket:
    """A listening socket on ``host``:``port`` (0: a free port the system picks)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    return sock


class SandboxServer:
    def __init__(
        self,
        provider: SandboxProvider,
        *,
        token: str | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        webhook_every: float = 0.5,
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.provider = provider
        self.faults = Faults()
        self.webhooks = (
            WebhookSender(provider, webhook_url, webhook_secret, self.faults)
            if webhook_url and webhook_secret
            else None
        )
        self.webhook_every = webhook_every
        self.app = make_sandbox_app(
            provider, token=token, faults=self.faults, webhooks=self.webhooks
        )
        self.sock = loopback_socket(port, host)
        address = self.sock.getsockname()
        self.url = f"http://{address[0]}:{address[1]}"
        config = uvicorn.Config(self.app, log_level="warning", log_config=None, lifespan="off")
        self.server = uvicorn.Server(config)
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def filings(self) -> dict[str, int]:
        """Requests filed per idempotency key, as the service counted them."""
        return dict(self.app.app.state.filings)  # type: ignore[attr-defined]

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self.server.serve(sockets=[self.sock])))
        while not self.server.started:
            if self._tasks[0].done():  # it failed to start: say why
                self._tasks[0].result()
            await asyncio.sleep(0.01)
        if self.webhooks is not None:
            self._tasks.append(asyncio.create_task(self.webhooks.run(self.webhook_every)))

    async def wait(self) -> None:
        """Until the server exits (SIGTERM, SIGINT)."""
        await self._tasks[0]

    async def stop(self) -> None:
        self.server.should_exit = True
        for task in reversed(self._tasks):
            if task is not self._tasks[0]:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.webhooks is not None:
            await self.webhooks.close()
        self.sock.close()

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
