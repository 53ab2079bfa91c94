"""The sandbox provider as the HTTP service it is in production (``posbot sandbox-provider``),
in a process of its own, for the benchmark's run over the HTTP adapter."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bot.providers.config import load_provider_file
from bot.providers.http import HttpProvider
from bot.providers.sandbox_server import loopback_socket
from bot.settings import PROJECT

TOKEN = "bench-sandbox-token"


@contextmanager
def sandbox_service(workdir: Path, terminals: int, start: int, code: str) -> Iterator[str]:
    """A running ``posbot sandbox-provider`` with ``terminals`` generated terminals; its URL."""
    workdir = workdir.resolve()  # the service runs in workdir: a relative path would nest
    database = workdir / "sandbox.db"
    for old in workdir.glob("sandbox.db*"):
        old.unlink()
    sock = loopback_socket()
    port = sock.getsockname()[1]
    sock.close()
    command = [sys.executable, "-m", "bot", "sandbox-provider", "--port", str(port)]
    command += ["--review-seconds", "3600", "--generate", str(terminals)]
    command += ["--generate-from", str(start)]
    process = subprocess.Popen(
        command,
        cwd=workdir,
        env={
            **os.environ,
            "PYTHONPATH": str(PROJECT),
            "POSBOT_SANDBOX_DATABASE": f"sqlite:///{database}",
            "POSBOT_SANDBOX_TOKEN": TOKEN,
            "POSBOT_SANDBOX_CODE": code,
            "POSBOT_DEMO": "true",
            "POSBOT_LOG_FILE": str(workdir / "sandbox.log"),
        },
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("posbot sandbox-provider: "):
        process.kill()
        raise SystemExit(f"the sandbox service did not start: {line!r}")
    try:
        yield line.split(": ", 1)[1].strip()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


def http_provider(url: str) -> HttpProvider:
    environ = {"POSBOT_SANDBOX_URL": url, "POSBOT_SANDBOX_TOKEN": TOKEN}
    config = load_provider_file(PROJECT / "providers" / "sandbox.yaml", environ)
    return HttpProvider(config, environ=environ)


def filed_at(url: str) -> int:
    """Requests filed at the service, by its own count."""
    answer = httpx.get(url + "/_sandbox/filings", timeout=10)
    return int(answer.json()["total"])
