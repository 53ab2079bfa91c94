"""A CSV cut into parts on row boundaries: each under the limit, the header on top of each, and
nothing lost or changed — the parts minus their repeated headers are the original bytes."""

from __future__ import annotations

from bot.exports.parts import MAX_PARTS, rows, split_csv
from bot.providers.base import ExportedFile

HEADER = b"\xef\xbb\xbftime,txn_id,amount,note\r\n"


def big_csv(count: int) -> ExportedFile:
    body = b"".join(
        b'2026-01-05 09:%02d:00,T%05d,%d.50,"a note, with a comma\r\nand a line"\r\n'
        % (n % 60, n, n)
        for n in range(count)
    )
    return ExportedFile("LKL8A2301234-transactions.csv", "text/csv", HEADER + body)


def joined(parts: list[ExportedFile]) -> bytes:
    header = next(rows(parts[0].data))
    return parts[0].data + b"".join(p.data.removeprefix(header) for p in parts[1:])


def test_rows_end_only_outside_quotes() -> None:
    data = b'a,b\r\n1,"x\r\ny"\r\n2,"say ""hi""\ny"\n3,z'
    assert list(rows(data)) == [b"a,b\r\n", b'1,"x\r\ny"\r\n', b'2,"say ""hi""\ny"\n', b"3,z"]


def test_a_big_csv_is_cut_into_parts_that_add_up_to_it() -> None:
    original = big_csv(200)
    limit = len(original.data) // 3 + 200
    parts = split_csv(original, limit)
    assert [p.name for p in parts] == [
        f"LKL8A2301234-transactions-part{n}.csv" for n in range(1, len(parts) + 1)
    ]
    assert 2 <= len(parts) <= MAX_PARTS
    assert all(len(p.data) <= limit and p.data.startswith(HEADER) for p in parts)
    assert all(p.content_type == "text/csv" for p in parts)
    assert joined(parts) == original.data
    # each part is a CSV of whole rows: a quoted newline is never cut
    assert all(p.data.endswith(b'line"\r\n') for p in parts)


def test_too_many_parts_is_no_split() -> None:
    original = big_csv(200)
    assert split_csv(original, len(original.data) // (MAX_PARTS + 2)) == []


def test_a_row_bigger_than_the_limit_is_no_split() -> None:
    wide = ExportedFile("x.csv", "text/csv", b"a,b\n1," + b"9" * 500 + b"\n2,3\n")
    assert split_csv(wide, 300) == []


def test_only_a_header_is_no_split() -> None:
    assert split_csv(ExportedFile("x.csv", "text/csv", b"a,b,c"), 2) == []
