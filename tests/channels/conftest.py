"""What the channel tests share: the Telegram runtime each Telegram test runs on."""

from __future__ import annotations

import pytest

from bot.channels.telegram_port import RUNTIMES


@pytest.fixture(params=RUNTIMES)
def telegram_runtime(request: pytest.FixtureRequest) -> str:
    """Every Telegram test runs on both runtimes — aiogram and python-telegram-bot — against
    the same local Bot API server (tests/telegram): one suite, two equal runtimes."""
    return str(request.param)
