"""The application letter: rendered in a worker process off the loop, the same letter; a worker
that dies costs no filing; a provider's template cannot reach Python."""

from __future__ import annotations

import io
import os
import signal
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


def test_a_template_cannot_reach_python() -> None:
    template = load_letter_template(LETTERS, "sandbox")
    hostile = replace(template, title="{{ merchant_id.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(jinja2.exceptions.SecurityError):
        render_letter(hostile, letter_values(_Filing(), ticket="SB-1"))


class _Filing:
    merchant_id, serial, phone, kind, reason = "102100058120001", "LKL8A2301234", "", "x", ""
