"""Logging that never writes a secret: every record posbot's handlers write — its message and its
traceback — passes the scam shield (card and ID numbers, codes next to their keyword, passwords)
and has phone numbers masked, whoever logged it and whatever an exception's text carried."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

from bot.validation import safe_text

FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def redact(text: str) -> str:
    """A log record as it may be written: each line as the transcript would keep it, its
    indentation (a traceback's) kept."""
    lines = text.split("\n")
    return "\n".join(line[: len(line) - len(line.lstrip())] + safe_text(line) for line in lines)


class Redacting(logging.Filter):
    """Rewrites each record in place: the formatted message and the traceback, redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), ()
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def log_to_file(path: Path, level: int = logging.INFO) -> logging.Handler:
    """Send every log record to ``path``, redacted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(Redacting())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    return handler
