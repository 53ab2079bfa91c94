"""Everything a test bot has written to its database, as one string: every text column of every
table (transcript, conversation state, outbox payloads, ...), to assert what is never kept.
Timestamps are left out: their microseconds are digits nobody typed."""

from __future__ import annotations

import re
import sqlite3

from tests.chat import Bot

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d)?")


def everything_stored(bot: Bot) -> str:
    path = bot.settings.database_url.removeprefix("sqlite:///")
    connection = sqlite3.connect(path)
    try:
        tables = [
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        parts: list[str] = []
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                parts.extend(
                    str(value)
                    for value in row
                    if value is not None and not _TIMESTAMP.fullmatch(str(value))
                )
        return "\n".join(parts)
    finally:
        connection.close()
