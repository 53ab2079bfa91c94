"""``posbot send``: an operator's message to a merchant who wrote first, queued in the outbox
(and the transcript) like every reply, for ``posbot run`` to deliver; anyone else is refused
with one line, exit 2."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.bootstrap import App, build
from bot.engine.events import InboundEvent
from bot.errors import NoConversation, PosbotError
from bot.settings import Settings
from tests.processes import posbot_env

TEXT = "您好，我是客服小李：您的终端回收快递单号是 SF1234567890。"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return posbot_env(tmp_path)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    """A merchant (telegram user 42) who wrote /start."""
    built = build(
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=f"sqlite:///{tmp_path / 'posbot.db'}",
            sandbox_database=f"sqlite:///{tmp_path / 'sandbox.db'}",
        )
    )
    yield built
    built.store.engine.dispose()


async def wrote_first(app: App, user: str = "42") -> None:
    await app.runtime.receive(InboundEvent("telegram", user, f"tg:{user}:1", text="/start"))
    app.runtime.delivered(app.runtime.outgoing("telegram", user))  # the welcome went out


def send(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "send", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_send_queues_the_message_for_the_channel(
    app: App, env: dict[str, str], tmp_path: Path
) -> None:
    await wrote_first(app)
    result = send(env, tmp_path, "--channel", "telegram", "--user", "42", TEXT)
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    assert line.startswith("queued message ") and "telegram user 42" in line
    [queued] = app.runtime.outgoing("telegram", "42")
    assert str(queued.id) in line
    assert queued.payload == {"text": TEXT, "keys": ["operator.message"]}
    assert app.store.transcript("telegram", "42")[-1] == ("out", TEXT)


@pytest.mark.parametrize(
    "args",
    [
        ["--channel", "telegram", "--user", "7", "hello"],  # never wrote
        ["--channel", "terminal", "--user", "42", "hello"],  # wrote, but on another channel
        ["--user", "42", "   "],  # nothing to send
    ],
    ids=["unknown-user", "other-channel", "empty"],
)
async def test_send_refuses_with_one_line(
    app: App, env: dict[str, str], tmp_path: Path, args: list[str]
) -> None:
    await wrote_first(app)
    result = send(env, tmp_path, *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("posbot: ")
    assert result.stdout == ""
    assert app.runtime.outgoing("telegram", "42") == []


async def test_the_service_sends_in_one_transaction(app: App) -> None:
    await wrote_first(app)
    queued = app.runtime.service.send("telegram", "42", "hi")
    assert [item.id for item in app.runtime.outgoing("telegram", "42")] == [queued]
    with pytest.raises(NoConversation, match="wrote to it first"):
        app.runtime.service.send("telegram", "nobody", "hi")
    with pytest.raises(PosbotError, match="empty"):
        app.runtime.service.send("telegram", "42", "")
    assert len(app.runtime.outgoing("telegram", "42")) == 1
