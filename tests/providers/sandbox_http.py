"""Helpers for tests over HTTP: the sandbox service on a loopback port, and a receiver of its
webhooks that records what it got."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request

from bot.providers.config import load_provider_file
from bot.providers.http import HttpProvider
from bot.providers.sandbox import SandboxProvider
from bot.providers.sandbox_server import SandboxServer, loopback_socket
from bot.settings import PROJECT

TOKEN = "sandbox-test-token"
WEBHOOK_SECRET = "webhook-secret-for-tests"
ENVIRON = {
    "POSBOT_SANDBOX_URL": "http://127.0.0.1:9",
    "POSBOT_SANDBOX_TOKEN": TOKEN,
    "POSBOT_SANDBOX_WEBHOOK_SECRET": WEBHOOK_SECRET,
}


@contextmanager
def threaded(server: SandboxServer) -> Iterator[SandboxServer]:
    """The service in a thread of its own, with its own loop: for sync fixtures."""
    ready = threading.Event()

    async def serve() -> None:
        await server.start()
        ready.set()
        try:
            await server.wait()
        finally:
            await server.stop()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10), "the sandbox service did not start"
    try:
        yield server
    finally:
        server.server.should_exit = True
        thread.join(10)


class Receiver:
    """A webhook endpoint on loopback that records every delivery (headers and body)."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.app = FastAPI()
        self.sock = loopback_socket()
        port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/hook"

        @self.app.post("/hook")
        async def hook(request: Request) -> dict[str, Any]:
            self.got.append((dict(request.headers), await request.body()))
            return {"ok": True}

        self.server = uvicorn.Server(
            uvicorn.Config(self.app, log_level="warning", log_config=None, lifespan="off")
        )


@asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    task = asyncio.create_task(receiver.server.serve(sockets=[receiver.sock]))
    while not receiver.server.started:
        await asyncio.sleep(0.01)
    try:
        yield receiver
    finally:
        receiver.server.should_exit = True
        await task
        receiver.sock.close()


def http_provider(url: str, **changes: Any) -> HttpProvider:
    """The HTTP adapter as providers/sandbox.yaml describes it, pointed at ``url``; ``changes``
    replace parts of the file (``retries=Retries(...)``)."""
    config = load_provider_file(PROJECT / "providers" / "sandbox.yaml", ENVIRON)
    return HttpProvider(config.model_copy(update=changes), environ=ENVIRON, base_url=url)


def sandbox(clock: Callable[[], float], **kwargs: Any) -> SandboxProvider:
    return SandboxProvider(clock=clock, review_step_seconds=2.0, **kwargs)
