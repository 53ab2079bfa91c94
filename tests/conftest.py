"""What every test shares: the Telegram runtime each Telegram test runs on (every one runs on
both, aiogram and python-telegram-bot); and ``kill -USR1 <pid of pytest>``, which writes the
stack of every asyncio task of the running test to ``$TMPDIR/posbot-tasks-<pid>.txt`` (and to
the test's captured stderr) — where a hung test waits, which a thread dump cannot show."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

import pytest

from bot.channels.telegram_port import RUNTIMES


@pytest.fixture(params=RUNTIMES)
def telegram_runtime(request: pytest.FixtureRequest) -> str:
    """Every Telegram test runs on both runtimes — aiogram and python-telegram-bot — against
    the same local Bot API server (tests/telegram): one suite, two equal runtimes."""
    return str(request.param)


def _dump_tasks(_signum: int, _frame: FrameType | None) -> None:
    loop = asyncio._get_running_loop()  # the handler runs inside the loop's select
    if loop is None:
        print("no asyncio loop is running", file=sys.stderr, flush=True)
        return
    out = io.StringIO()
    for task in asyncio.all_tasks(loop):
        print(f"--- {task!r}", file=out)
        task.print_stack(file=out)
    Path(tempfile.gettempdir(), f"posbot-tasks-{os.getpid()}.txt").write_text(out.getvalue())
    print(out.getvalue(), file=sys.stderr, flush=True)


signal.signal(signal.SIGUSR1, _dump_tasks)
