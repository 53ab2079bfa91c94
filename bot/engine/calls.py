"""The effects a flow can ask for, and the outcomes each can come back with.

The engine knows only these names; the runtime's effect runner performs them against the
provider. The flow checks use this table to refuse an action that names an unknown call or
handles an outcome that cannot happen."""

from __future__ import annotations

CALLS: dict[str, frozenset[str]] = {
    "verify_terminal": frozenset({"ok", "no_match", "deregistered", "open_request", "unavailable"}),
    "send_code": frozenset({"sent", "locked", "unavailable"}),
    "check_code": frozenset({"ok", "wrong", "expired", "locked", "unavailable"}),
    "submit": frozenset({"filed", "refused", "unavailable"}),
    "export_records": frozenset({"exported", "unavailable"}),
}
