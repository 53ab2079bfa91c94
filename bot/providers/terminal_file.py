"""The operator's terminal directory for a provider without an API: a CSV file they export
from their own books (``POSBOT_DESK_TERMINALS``), read once at start and checked like a provider
file — every problem with its file and line, all of them at once.

    merchant_id,serial,registered_phone,state,merchant_name,model,unsettled,pending_refunds,pending_refund_amount,deposit,fees,currency
    102100058120001,LKL8A2301234,13800138000,active,张记小吃,A8,0,0,0,0,0,CNY

``merchant_id``, ``serial`` and ``registered_phone`` are needed; ``state`` is active (the
default), suspended or deregistered. The money columns are optional, together: a row whose
five amounts are all blank has no known balance (an agent then checks it with the provider —
posbot never calls a balance settled that it does not know)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from bot.errors import ProviderFileError, ProviderFileErrors
from bot.providers.base import Balance, Terminal
from bot.validation.fields import Valid, phone
from bot.validation.fields import serial as read_serial

NEEDED = ("merchant_id", "serial", "registered_phone")
MONEY = ("unsettled", "pending_refunds", "pending_refund_amount", "deposit", "fees")
KNOWN = frozenset({*NEEDED, "state", "merchant_name", "model", *MONEY, "currency"})
STATES = ("active", "suspended", "deregistered")


@dataclass(frozen=True)
class Entry:
    terminal: Terminal
    balance: Balance | None  # None: not in the file, an agent checks it


def load_terminal_file(
    path: Path, *, merchant_id_pattern: str, phone_region: str
) -> dict[str, Entry]:
    """The file's terminals by serial; ``ProviderFileErrors`` naming every bad line."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ProviderFileErrors([ProviderFileError(f"cannot read: {why}", file=file)]) from exc
    reader = csv.DictReader(text.splitlines(keepends=True), restval="", strict=False)
    columns = [c.strip() for c in reader.fieldnames or []]
    errors = [ProviderFileError(p, file=file, line=1) for p in _header_problems(columns)]
    if errors:
        raise ProviderFileErrors(errors)
    reader.fieldnames = columns
    merchant_id = re.compile(merchant_id_pattern)
    is_phone = phone(phone_region)
    entries: dict[str, Entry] = {}
    first_line: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        cells = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if not any(cells.values()):
            continue  # a blank line
        problems = list(_row_problems(cells, merchant_id, has_money=MONEY[0] in columns))
        registered = is_phone(cells["registered_phone"])
        if not isinstance(registered, Valid):
            problems.append(
                f"registered_phone {cells['registered_phone']!r} is not a mobile number"
            )
        read = read_serial(cells["serial"])
        serial = read.value if isinstance(read, Valid) else cells["serial"]
        if serial in first_line:
            problems.append(f"serial {serial} is already on line {first_line[serial]}")
        if problems:
            errors += [ProviderFileError(p, file=file, line=line) for p in problems]
            continue
        assert isinstance(registered, Valid)
        first_line[serial] = line
        entries[serial] = Entry(
            Terminal(
                cells["merchant_id"],
                serial,
                registered.value,
                cells.get("state") or "active",  # type: ignore[arg-type]
                cells.get("merchant_name", ""),
                cells.get("model", ""),
            ),
            _balance(cells),
        )
    if errors:
        raise ProviderFileErrors(errors)
    return entries


def _header_problems(columns: list[str]) -> Iterator[str]:
    if not columns:
        yield "is empty: a header line is needed (" + ",".join(NEEDED) + ", …)"
        return
    for name in NEEDED:
        if name not in columns:
            yield f"the column {name} is needed"
    for name in columns:
        if name not in KNOWN:
            yield f"unknown column {name!r} (known: {', '.join(sorted(KNOWN))})"
    given = [m for m in MONEY if m in columns]
    if given and len(given) != len(MONEY):
        missing = ", ".join(m for m in MONEY if m not in columns)
        yield f"the money columns come together: {missing} missing"


def _row_problems(
    cells: Mapping[str, str], merchant_id: re.Pattern[str], *, has_money: bool
) -> Iterator[str]:
    if not merchant_id.fullmatch(cells["merchant_id"]):
        yield f"merchant_id {cells['merchant_id']!r} does not match {merchant_id.pattern}"
    if not isinstance(read_serial(cells["serial"]), Valid):  # as a merchant's answer is read
        yield f"serial {cells['serial']!r} is not a terminal serial (6 to 32 letters and digits)"
    if cells.get("state") and cells["state"] not in STATES:
        yield f"state {cells['state']!r} is not one of {', '.join(STATES)}"
    if not has_money:
        return
    amounts = [cells[m] for m in MONEY]
    if any(amounts) and not all(amounts):
        yield "give all five amounts, or none (unknown: an agent checks)"
        return
    for name in MONEY if all(amounts) else ():
        try:
            value = Decimal(cells[name])
        except InvalidOperation:
            yield f"{name} {cells[name]!r} is not a number"
            continue
        if value < 0 or (name == "pending_refunds" and value != int(value)):
            yield f"{name} {cells[name]!r} is not a whole amount of 0 or more"


def _balance(cells: Mapping[str, str]) -> Balance | None:
    if not cells.get(MONEY[0]):
        return None
    return Balance(
        unsettled=Decimal(cells["unsettled"]),
        pending_refunds=int(Decimal(cells["pending_refunds"])),
        pending_refund_amount=Decimal(cells["pending_refund_amount"]),
        deposit=Decimal(cells["deposit"]),
        fees=Decimal(cells["fees"]),
        currency=cells.get("currency") or "CNY",
    )
