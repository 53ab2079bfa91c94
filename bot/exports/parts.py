"""A CSV too big for one attachment, cut into parts on row boundaries, each with the header.

A row ends at a newline outside quotes (RFC 4180: a quoted field may hold newlines, and a quote
inside it is doubled, so an even count of quotes means the row is closed). The parts, minus the
header each repeats after the first, are the original bytes exactly."""

from __future__ import annotations

from collections.abc import Iterator

from bot.providers.base import ExportedFile

MAX_PARTS = 5  # more files than this in a chat is no help: a link is given instead


def is_csv(file: ExportedFile) -> bool:
    return file.content_type == "text/csv" or file.name.endswith(".csv")


def rows(data: bytes) -> Iterator[bytes]:
    """The rows of ``data``, each with its line ending (the last one may have none)."""
    start = scanned = quotes = 0
    end = data.find(b"\n")
    while end != -1:
        quotes += data.count(b'"', scanned, end)
        scanned = end
        if quotes % 2 == 0:
            yield data[start : end + 1]
            start, quotes = end + 1, 0
            scanned = start
        end = data.find(b"\n", end + 1)
    if start < len(data):
        yield data[start:]


def split_csv(file: ExportedFile, limit: int, max_parts: int = MAX_PARTS) -> list[ExportedFile]:
    """``file`` as ``name-part1.csv`` … each at most ``limit`` bytes, the header row at the top
    of each; an empty list when that cannot be done in ``max_parts`` parts (a row that does not
    fit beside the header, or too many parts)."""
    lines = rows(file.data)
    header = next(lines, b"")
    if not header.endswith(b"\n"):  # nothing but a header: it cannot be made smaller
        return []
    bodies: list[bytearray] = []
    for row in lines:
        if len(header) + len(row) > limit:
            return []
        if not bodies or len(header) + len(bodies[-1]) + len(row) > limit:
            if len(bodies) == max_parts:
                return []
            bodies.append(bytearray())
        bodies[-1] += row
    stem = file.name.removesuffix(".csv")
    return [
        ExportedFile(f"{stem}-part{n}.csv", file.content_type, header + bytes(body))
        for n, body in enumerate(bodies, start=1)
    ]
