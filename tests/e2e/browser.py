"""Real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright — never a browser
download) against a posbot HTTP app served by uvicorn on a free loopback port."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from tests.processes import free_port

CHROMIUM = "/usr/bin/chromium"
FLAGS = [  # the machine's network is closed: no background connections, no lookups
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

needs_chromium = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None,
    reason="Debian's chromium is not installed (make test installs it when run as root)",
)


@asynccontextmanager
async def served(http: FastAPI) -> AsyncIterator[str]:
    """The app on a free loopback port, for as long as the block runs; its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(http, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        server.force_exit = True
        await serving


@asynccontextmanager
async def chromium() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=FLAGS
        )
        try:
            yield browser
        finally:
            await browser.close()
