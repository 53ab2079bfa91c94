"""``posbot run``: one process serving /healthz, the background work and every configured channel;
it stops cleanly on SIGTERM and SIGINT, and refuses a wrong setting with one line (exit 2).

The process tests start the real command (``python -m bot run``) on a free loopback port."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from bot.bootstrap import App, build
from bot.channels.base import Channel
from bot.cli import app as cli
from bot.http import make_http
from bot.server import background, channels_for, serve
from bot.settings import Settings
from bot.store.database import connect
from tests.processes import free_port, posbot_env

TOKEN = "123456789:AAEfakeTokenForTests_0123456789abcdef"
START_SECONDS = 20.0
STOP_SECONDS = 5.0


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A clean POSBOT_* environment with everything in tmp_path, and this checkout's code."""
    return posbot_env(tmp_path, POSBOT_HTTP_PORT=str(free_port()))


def start(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def healthy(process: subprocess.Popen[str], port: int) -> dict[str, object]:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body
    process.kill()
    pytest.fail(f"no /healthz within {START_SECONDS} s: {process.communicate()}")


def refused(env: dict[str, str], cwd: Path, **more: str) -> str:
    """Run with ``more`` on top; assert the operator's refusal (exit 2, one line, no traceback,
    no token) and return the line."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=env | more,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert result.stdout == ""
    for secret in (TOKEN, more.get("POSBOT_TELEGRAM_TOKEN") or TOKEN):
        assert secret not in result.stderr
    return lines[0]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_run_serves_health_until_a_signal_stops_it(
    env: dict[str, str], tmp_path: Path, stop: signal.Signals
) -> None:
    port = int(env["POSBOT_HTTP_PORT"])
    process = start(env, tmp_path)
    try:
        body = healthy(process, port)
        assert body == {
            "status": "ok",
            "database": "ok",
            "channels": {"web": "running"},  # the web chat is always on
            "version": "0.1.0",
        }
        process.send_signal(stop)
        out, err = process.communicate(timeout=STOP_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, (out, err)
    assert f"http://127.0.0.1:{port}/healthz" in out
    assert out.splitlines()[-1] == "posbot run: stopped"
    assert "Traceback" not in err
    assert err == ""


def test_a_port_in_use_is_refused_naming_its_variable(env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = refused(env, tmp_path, POSBOT_HTTP_PORT=str(port))
    assert line.startswith("posbot: POSBOT_HTTP_PORT: ")
    assert str(port) in line and "in use" in line


BAD = {
    "token-with-space": ("POSBOT_TELEGRAM_TOKEN", {"POSBOT_TELEGRAM_TOKEN": "123456 :AAE x"}),
    "token-no-colon": ("POSBOT_TELEGRAM_TOKEN", {"POSBOT_TELEGRAM_TOKEN": "123456AAEabcdef"}),
    "token-empty": ("POSBOT_TELEGRAM_TOKEN", {"POSBOT_TELEGRAM_TOKEN": ""}),
    "webhook-http": (
        "POSBOT_TELEGRAM_WEBHOOK_URL",
        {
            "POSBOT_TELEGRAM_TOKEN": TOKEN,
            "POSBOT_TELEGRAM_WEBHOOK_URL": "http://bot.example.com/tg",
            "POSBOT_TELEGRAM_WEBHOOK_SECRET": "s3cret",
        },
    ),
    "webhook-no-host": (
        "POSBOT_TELEGRAM_WEBHOOK_URL",
        {
            "POSBOT_TELEGRAM_TOKEN": TOKEN,
            "POSBOT_TELEGRAM_WEBHOOK_URL": "https:///tg",
            "POSBOT_TELEGRAM_WEBHOOK_SECRET": "s3cret",
        },
    ),
    "webhook-without-secret": (
        "POSBOT_TELEGRAM_WEBHOOK_SECRET",
        {"POSBOT_TELEGRAM_TOKEN": TOKEN, "POSBOT_TELEGRAM_WEBHOOK_URL": "https://b.example/tg"},
    ),
    "secret-bad-characters": (
        "POSBOT_TELEGRAM_WEBHOOK_SECRET",
        {
            "POSBOT_TELEGRAM_TOKEN": TOKEN,
            "POSBOT_TELEGRAM_WEBHOOK_URL": "https://b.example/tg",
            "POSBOT_TELEGRAM_WEBHOOK_SECRET": "no spaces!",
        },
    ),
    "api-base-not-http": ("POSBOT_TELEGRAM_API_BASE", {"POSBOT_TELEGRAM_API_BASE": "ftp://x"}),
    "host-not-a-host": ("POSBOT_HTTP_HOST", {"POSBOT_HTTP_HOST": "local host"}),
    "host-unknown": ("POSBOT_HTTP_HOST", {"POSBOT_HTTP_HOST": "no-such-host.invalid"}),
}


IN_A_PROCESS = ("token-with-space", "webhook-http", "webhook-without-secret", "host-unknown")
SETTINGS = {k: v for k, v in BAD.items() if k != "host-unknown"}  # Settings() refuses these


@pytest.mark.parametrize("case", IN_A_PROCESS)
def test_a_bad_setting_is_one_line_naming_its_variable(
    env: dict[str, str], tmp_path: Path, case: str
) -> None:
    variable, values = BAD[case]
    line = refused(env, tmp_path, **values)
    assert line.startswith(f"posbot: {variable}: "), line


@pytest.mark.parametrize(("variable", "values"), SETTINGS.values(), ids=SETTINGS.keys())
def test_every_bad_setting_is_refused_before_anything_starts(
    env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    values: dict[str, str],
) -> None:
    """The same refusals, in this process (cheaper): before logging, building or listening."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("POSBOT_"):
            monkeypatch.delenv(name)
    result = CliRunner().invoke(cli, ["run"], env=env | values)
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stderr.splitlines() == [line for line in result.stderr.splitlines() if line]
    [line] = result.stderr.splitlines()
    assert line.startswith(f"posbot: {variable}: "), line
    assert TOKEN not in result.output and "Traceback" not in result.output
    assert not Path(env["POSBOT_LOG_FILE"]).exists()


def test_a_channel_that_cannot_start_is_refused_and_its_token_never_shown(
    env: dict[str, str], tmp_path: Path
) -> None:
    nobody = free_port()  # nothing listens there: the Bot API cannot be reached
    line = refused(
        env,
        tmp_path,
        POSBOT_TELEGRAM_TOKEN=TOKEN,
        POSBOT_TELEGRAM_API_BASE=f"http://127.0.0.1:{nobody}",
    )
    assert line.startswith("posbot: the telegram channel could not start"), line
    assert TOKEN.split(":")[1] not in Path(env["POSBOT_LOG_FILE"]).read_text(encoding="utf-8")


# -- in-process -------------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path / 'posbot.db'}",
        sandbox_database=f"sqlite:///{tmp_path / 'sandbox.db'}",
        exports_dir=tmp_path / "exports",
        log_file=tmp_path / "posbot.log",
        http_port=free_port(),
        poll_seconds=0.05,
        secret_key_file=tmp_path / "secret_key",
    )
    built = build(settings)
    yield built
    built.store.engine.dispose()


class FakeChannel(Channel):
    """What serve() asks of a channel, recorded in order."""

    name = "fake"

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def mount(self, http: FastAPI) -> None:
        self.calls.append("mount")

        @http.post("/fake/hook")
        async def hook() -> dict[str, str]:
            return {"hook": "fake"}

    async def start(self) -> None:
        self.calls.append("start")

    async def stop(self) -> None:
        self.calls.append("stop")

    def describe(self) -> str:
        return "fake: a channel for tests"


async def test_healthz_answers_from_the_app(app: App) -> None:
    http = make_http(app, [FakeChannel([])])
    http.state.running.add("fake")
    transport = httpx.ASGITransport(app=http)
    async with httpx.AsyncClient(transport=transport, base_url="http://posbot") as client:
        response = await client.get("/healthz")
        hook = await client.post("/fake/hook")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "channels": {"fake": "running"},
        "version": "0.1.0",
    }
    assert hook.json() == {"hook": "fake"}


async def test_healthz_is_503_when_the_database_cannot_be_read(app: App, tmp_path: Path) -> None:
    app.store.engine.dispose()
    app.store.engine = connect(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables: reads fail
    transport = httpx.ASGITransport(app=make_http(app, []))
    async with httpx.AsyncClient(transport=transport, base_url="http://posbot") as client:
        response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_no_channel_but_the_web_chat_runs_without_its_settings(app: App) -> None:
    assert [channel.name for channel in channels_for(app.settings, app)] == ["web"]


async def test_serve_mounts_starts_and_stops_channels_in_order(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr("bot.server.channels_for", lambda settings, built: [FakeChannel(calls)])
    said: list[str] = []
    port = app.settings.http_port
    running = asyncio.create_task(serve(app.settings, say=said.append))
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                response = await client.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.TransportError:
                await asyncio.sleep(0.05)
        assert response.json()["channels"] == {"fake": "running"}
        assert calls == ["mount", "start"]
        signal.raise_signal(signal.SIGTERM)  # uvicorn's handler: a graceful exit
        await asyncio.wait_for(running, STOP_SECONDS)
    assert calls == ["mount", "start", "stop"]
    health, console, admin, *rest = said
    assert health == f"posbot run: http://127.0.0.1:{port}/healthz"
    assert console == f"posbot run: console http://127.0.0.1:{port}/console"
    assert admin.startswith("posbot run: console admin 'admin', one-time password: ")
    assert rest == ["posbot run: fake: a channel for tests", "posbot run: stopped"]


class FlakyRuntime:
    """Sweeps fail now and then; the loop must go on."""

    def __init__(self) -> None:
        self.sweeps = 0
        self.polls = 0

    async def sweep(self) -> int:
        self.sweeps += 1
        if self.sweeps % 2:
            raise RuntimeError("the database blinked")
        return 0

    async def poll_statuses(self) -> int:
        self.polls += 1
        return 0


async def test_the_background_loop_outlives_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    runtime = FlakyRuntime()
    stopping = asyncio.Event()
    loop = asyncio.create_task(background(runtime, 0.01, stopping))  # type: ignore[arg-type]
    while runtime.polls < 4:
        await asyncio.sleep(0.01)
    stopping.set()
    await asyncio.wait_for(loop, 1.0)
    assert runtime.sweeps >= 4 and runtime.polls >= 4
    assert "sweep failed" in caplog.text
