"""The application letter (申请函): a PDF filled from a template per provider
(``providers/letters/<provider>.yaml``, else ``default.yaml``) with the filing's merchant,
terminal, reason and date and the declarations the provider asks for.

Chinese text is set in reportlab's built-in STSong-Light (an Adobe CID font every PDF reader
has), ASCII in Helvetica — so numbers and serials are plain text a reader can search and copy."""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from bot.errors import ProviderFileError, ProviderFileErrors

CJK, LATIN = "STSong-Light", "Helvetica"
MARGIN, WIDTH = 64.0, A4[0] - 128.0
# sandboxed: a provider file's template cannot reach Python; a PDF, not HTML: no escaping
_env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
# a line of a template is compiled once, not at every letter
_compiled = functools.lru_cache(maxsize=1024)(_env.from_string)


@dataclass(frozen=True)
class LetterTemplate:
    title: str
    to: str
    body: tuple[str, ...]
    declarations: tuple[str, ...]
    signature: tuple[str, ...]


def load_letter_template(folder: Path, provider: str) -> LetterTemplate:
    path = folder / f"{provider}.yaml"
    if not path.is_file():
        path = folder / "default.yaml"
    try:
        return _read_template(path, path.stat().st_mtime_ns)  # read again once edited
    except OSError as exc:
        problem = ProviderFileError(f"not a letter template: {exc}", file=str(path))
        raise ProviderFileErrors([problem]) from exc


@functools.lru_cache(maxsize=64)
def _read_template(path: Path, _version: int) -> LetterTemplate:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return LetterTemplate(
            str(raw["title"]),
            str(raw.get("to", "")),
            tuple(map(str, raw.get("body", ()))),
            tuple(map(str, raw.get("declarations", ()))),
            tuple(map(str, raw.get("signature", ()))),
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        problem = ProviderFileError(f"not a letter template: {exc}", file=str(path))
        raise ProviderFileErrors([problem]) from exc


def letter_values(filing: Any, **more: Any) -> dict[str, Any]:
    """The template's values for ``filing`` (a ``Filing``); ``more`` adds or replaces some."""
    return {
        "merchant_id": filing.merchant_id,
        "serial": filing.serial,
        "phone": filing.phone,
        "kind": filing.kind,
        "reason": filing.reason,
        "merchant_name": "",
        "model": "",
        "ticket": None,
        "date": date.today().isoformat(),
        **more,
    }


def render_letter(template: LetterTemplate, values: Mapping[str, Any]) -> bytes:
    """The letter as PDF bytes."""
    if CJK not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK))

    def fill(text: str) -> str:
        return _compiled(text).render(**values)

    buffer = io.BytesIO()
    pdf = Canvas(buffer, pagesize=A4)
    pdf.setTitle(fill(template.title))
    y = A4[1] - MARGIN
    y = _line(pdf, fill(template.title), A4[0] / 2, y, size=18, centred=True) - 18
    y = _line(pdf, fill(template.to), MARGIN, y, size=12) - 6
    for text in template.body:
        y = _line(pdf, fill(text), MARGIN, y, size=12)
    y -= 10
    for n, text in enumerate(template.declarations, start=1):
        y = _line(pdf, f"{n}. {fill(text)}", MARGIN, y, size=11)
    y -= 24
    for text in template.signature:
        y = _line(pdf, fill(text), A4[0] / 2 - 20, y, size=12) - 4
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _runs(text: str) -> list[tuple[str, str]]:
    """``text`` cut into runs of one font each: ASCII in Helvetica, the rest in STSong."""
    runs: list[tuple[str, str]] = []
    for char in text:
        font = LATIN if char.isascii() else CJK
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + char)
        else:
            runs.append((font, char))
    return runs


@functools.lru_cache(maxsize=8192)
def _char_width(char: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(char, LATIN if char.isascii() else CJK, size))


def _width(text: str, size: float) -> float:
    return float(sum(pdfmetrics.stringWidth(t, f, size) for f, t in _runs(text)))


def _wrapped(text: str, size: float) -> list[str]:
    lines, current, width = [], "", 0.0
    for char in text:
        step = _char_width(char, size)
        if width + step > WIDTH and current:
            lines.append(current)
            current, width = char, step
        else:
            current, width = current + char, width + step
    return [*lines, current]


def _line(
    pdf: Canvas, text: str, x: float, y: float, *, size: float, centred: bool = False
) -> float:
    """Draw ``text`` (wrapped) from ``x``, ``y`` down; returns the next line's ``y``."""
    for line in _wrapped(text, size):
        start = x - _width(line, size) / 2 if centred else x
        for font, run in _runs(line):
            pdf.setFont(font, size)
            pdf.drawString(start, y, run)
            start += pdfmetrics.stringWidth(run, font, size)
        y -= size * 1.6
    return y
