"""The effects a flow can ask for, and the outcomes each can come back with.

The engine knows only these names; the runtime's effect runner performs them against the
provider. The flow checks use this table to refuse an action that names an unknown call or
handles an outcome that cannot happen."""

from __future__ import annotations

CALLS: dict[str, frozenset[str]] = {
    # before the phone is proved: does it match — nothing about the terminal itself
    # (unchecked: the provider has no online way to say — a person checks instead)
    "verify_terminal": frozenset({"ok", "no_match", "limited", "unavailable", "unchecked"}),
    # after: its state, an open request's ticket, what is still owed
    "terminal_status": frozenset(
        {
            "ok",
            "deregistered",
            "open_request",
            "no_match",
            "not_verified",
            "unavailable",
            "unchecked",
        }
    ),
    "send_code": frozenset({"sent", "locked", "unavailable", "unchecked"}),
    "check_code": frozenset({"ok", "wrong", "expired", "locked", "unavailable"}),
    "submit": frozenset({"filed", "refused", "unavailable"}),
    "export_records": frozenset({"exported", "unavailable"}),
}
