"""The records backup as CSV and as one XLSX workbook, opened again with openpyxl."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from bot.providers.base import ExportedFile
from bot.providers.exports import XLSX, with_workbook
from bot.providers.sandbox import SandboxProvider


async def test_the_sandbox_export_comes_as_csv_and_one_workbook() -> None:
    files = await SandboxProvider().export_records("102100058120001", "LKL8A2301234")
    both = with_workbook(files)
    assert both[:3] == files
    book = both[3]
    assert (book.name, book.content_type) == ("LKL8A2301234-records.xlsx", XLSX)
    workbook = load_workbook(io.BytesIO(book.data))
    assert workbook.sheetnames == ["daily-reports", "transactions", "settlement-slips"]
    rows = list(workbook["transactions"].iter_rows(values_only=True))
    assert rows[0][:5] == ("time", "txn_id", "serial", "type", "amount")
    assert rows[1][4] == 35.0 and rows[3][4] == -12.0  # numbers, so a sum works
    assert rows[1][6] == "6222****1234"  # a masked card stays text
    daily = list(workbook["daily-reports"].iter_rows(values_only=True))
    assert daily[1][1] == "102100058120001"  # a merchant number stays text, digits intact


def test_no_csv_no_workbook() -> None:
    pdf = ExportedFile("statement.pdf", "application/pdf", b"%PDF-1.4")
    assert with_workbook([pdf]) == [pdf]
    assert with_workbook([]) == []
