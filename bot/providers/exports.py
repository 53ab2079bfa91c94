"""The records backup in the merchant's hands: whatever CSV files a provider exported, also as
one XLSX workbook (openpyxl) with a sheet per file — what a shop's bookkeeper opens."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook

from bot.providers.base import ExportedFile

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_SHEET_NAME = 31  # Excel's limit


def with_workbook(files: Sequence[ExportedFile]) -> list[ExportedFile]:
    """``files`` and, when some are CSV, one workbook of them all after them."""
    tables = [f for f in files if f.content_type == "text/csv" or f.name.endswith(".csv")]
    if not tables:
        return list(files)
    book = Workbook()
    book.remove(book.active)
    prefix = _common_prefix([t.name for t in tables]) if len(tables) > 1 else ""
    for table in tables:
        sheet = book.create_sheet(_sheet_name(table.name, prefix))
        for row in csv.reader(io.StringIO(table.data.decode("utf-8-sig"))):
            sheet.append([_cell(value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    stem = (prefix or tables[0].name.removesuffix(".csv")).rstrip("-_ ") or "records"
    return [*files, ExportedFile(f"{stem}-records.xlsx", XLSX, buffer.getvalue())]


def _cell(value: str) -> str | int | float:
    """Numbers as numbers (a sum works), the rest — card masks, ids with leading zeros — text."""
    if value.isdigit() and not value.startswith("0") and len(value) < 12:
        return int(value)
    try:
        if "." in value and value.replace(".", "", 1).lstrip("-").isdigit():
            return float(value)
    except ValueError:
        pass
    return value


def _sheet_name(name: str, prefix: str) -> str:
    """The file's name without what all the files' names share (the serial)."""
    stem = name.removesuffix(".csv")
    short = stem[len(prefix) :] if len(prefix) < len(stem) else stem
    return (short.strip("-_ ") or stem)[:MAX_SHEET_NAME]


def _common_prefix(names: Sequence[str]) -> str:
    if not names:
        return ""
    first, last = min(names), max(names)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]
