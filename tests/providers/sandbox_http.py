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

from bot.providers.sandbox import SandboxProvider
from bot.providers.sandbox_server import SandboxServer, loopback_socket

TOKEN = "sandbox-test-token"
WEBHOOK_SECRET = "webhook-secret-for-tests"


@contextmanager
def threaded(server: SandboxServer) -> Iterator[SandboxServer]:
    """The service in a thread of its own, with its own loop: for sync fixtures."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_until_complete(server.wait())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10), "the sandbox service did not start"
    try:
        yield server
    finally:
        server.server.should_exit = True
        thread.join(10)
        loop.run_until_complete(server.stop())
        loop.close()


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


def sandbox(clock: Callable[[], float], **kwargs: Any) -> SandboxProvider:
    return SandboxProvider(clock=clock, review_step_seconds=2.0, **kwargs)
