"""The application letter: rendered in a worker process off the loop, the same letter; a worker
that dies costs no filing; a provider's template cannot reach Python."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import jinja2.exceptions
import pytest
from pypdf import PdfReader

from bot.providers import letter_worker
from bot.providers.letter import letter_values, load_letter_template, render_letter
from bot.providers.letter_worker import render_aside

LETTERS = Path(__file__).parents[2] / "providers" / "letters"
VALUES = {
    "merchant_id": "102100058120001",
    "serial": "LKL8A2301234",
    "phone": "13800138000",
    "kind": "deregister",
    "reason": "店铺关闭",
    "merchant_name": "",
    "model": "",
    "ticket": "SB-000042",
    "date": "2026-11-29",
}


def text_of(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_a_letter_rendered_by_the_worker_is_the_letter() -> None:
    template = load_letter_template(LETTERS, "sandbox")
    aside = await render_aside(template, VALUES)
    assert aside.startswith(b"%PDF")
    text = text_of(aside)
    assert "102100058120001" in text and "LKL8A2301234" in text and "SB-000042" in text
    assert text == text_of(render_letter(template, VALUES))
    assert letter_worker._pool is not None  # rendered there, not on the loop


async def test_a_worker_that_dies_costs_no_letter() -> None:
    template = load_letter_template(LETTERS, "sandbox")
    await render_aside(template, VALUES)  # the worker is up
    pool = letter_worker._pool
    assert pool is not None
    for process in list(pool._processes.values()):
        os.kill(process.pid, signal.SIGKILL)
    # the letter in hand is rendered on the loop; the next one by a new worker
    assert "LKL8A2301234" in text_of(await render_aside(template, VALUES))
    assert "LKL8A2301234" in text_of(await render_aside(template, VALUES))
    assert letter_worker._pool is not None and letter_worker._pool is not pool


BOT = """
import asyncio, json, sys
from pathlib import Path
from bot.providers import letter_worker
from bot.providers.letter import load_letter_template

async def main() -> None:
    template = load_letter_template(Path(sys.argv[1]), "sandbox")
    await letter_worker.render_aside(template, json.loads(sys.argv[2]))
    print(*letter_worker._pool._processes, flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status  # ended, waiting to be reaped


def test_the_worker_ends_with_the_bot_and_holds_none_of_its_output() -> None:
    """kill -9 of the bot: whoever reads its output sees the end at once (the worker let go of
    the streams), and the worker ends too."""
    bot = subprocess.Popen(
        [sys.executable, "-c", BOT, str(LETTERS), json.dumps(VALUES)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert bot.stdout is not None
    [worker] = map(int, bot.stdout.readline().split())
    bot.send_signal(signal.SIGKILL)
    bot.communicate(timeout=10)  # hangs while anyone else holds the pipes
    deadline = time.monotonic() + 10
    while not gone(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gone(worker), "the letter worker outlived the bot"


def test_a_template_cannot_reach_python() -> None:
    template = load_letter_template(LETTERS, "sandbox")
    hostile = replace(template, title="{{ merchant_id.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(jinja2.exceptions.SecurityError):
        render_letter(hostile, letter_values(_Filing(), ticket="SB-1"))


class _Filing:
    merchant_id, serial, phone, kind, reason = "102100058120001", "LKL8A2301234", "", "x", ""
