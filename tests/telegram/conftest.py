from collections.abc import AsyncIterator

import pytest

from tests.telegram.bot_api import BotAPIServer


@pytest.fixture
async def bot_api() -> AsyncIterator[BotAPIServer]:
    """A started fake Bot API server with Telegram's limits (1 msg/s per chat, burst 3)."""
    async with BotAPIServer() as server:
        yield server
