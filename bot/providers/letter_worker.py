"""The application letter rendered in a worker process, off the event loop.

reportlab lays a letter out in Python: milliseconds in which a loop that did it itself would
answer nobody. The runtime's filings have theirs rendered by one worker process (started at the
first letter, with ``spawn``: the bot's process has threads, which ``fork`` does not copy
safely); the loop only waits. A worker that dies is replaced at the next letter, and the letter
in hand is rendered on the loop instead — a filing never fails for want of a worker.

The worker belongs to the bot's process: it lets go of the standard streams it was given (a
supervisor reading the bot's output sees it end when the bot ends), and it ends when the bot
does, however the bot ended (kill -9 included) — never an orphan."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from bot.providers.letter import LetterTemplate, render_letter

log = logging.getLogger("posbot.letter")
PARENT_CHECK_SECONDS = 0.5  # how soon a worker whose bot died ends
_pool: ProcessPoolExecutor | None = None


def _belong_to(parent: int) -> None:
    """In the worker, first: the streams go to /dev/null, and a watch ends it with ``parent``."""
    quiet = os.open(os.devnull, os.O_RDWR)
    for stream in (0, 1, 2):
        os.dup2(quiet, stream)
    os.close(quiet)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="posbot-letter-parent", daemon=True).start()


async def render_aside(template: LetterTemplate, values: Mapping[str, Any]) -> bytes:
    """``render_letter(template, values)`` in the worker process."""
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_belong_to,
            initargs=(os.getpid(),),
        )
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_pool, render_letter, template, dict(values))
    except BrokenProcessPool:
        log.warning("the letter worker died: this letter is rendered here, the next by a new one")
        _pool = None
        return render_letter(template, values)
