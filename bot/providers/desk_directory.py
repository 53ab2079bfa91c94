"""Terminals, balances and phones for a provider without an API (the e-mail and manual desks).

posbot answers only what it honestly knows: with the operator's terminal file
(``terminal_file``) it checks who owns a terminal and, where the file gives them, what is owed;
without one it cannot check a terminal at all. It has no way to send a provider's one-time code.
Whatever it cannot check raises ``ProviderCannotCheck``: the flow then hands the merchant to an
agent, who checks with the provider ("cannot check online; an agent will verify")."""

from __future__ import annotations

from collections.abc import Mapping

from bot.errors import ProviderCannotCheck
from bot.providers.base import Balance, CodeVerdict, Directory, Terminal
from bot.providers.terminal_file import Entry


class DeskDirectory(Directory):
    def __init__(self, entries: Mapping[str, Entry] | None, *, merchant_id_pattern: str) -> None:
        self.entries = entries  # None: no terminal file
        self.merchant_id_pattern = merchant_id_pattern

    def describe(self) -> str:
        if self.entries is None:
            return "no terminal file: terminals, balances and phones are checked by agents"
        return f"{len(self.entries)} terminals from the operator's file; phones checked by agents"

    async def _do_find_terminal(self, serial: str) -> Terminal | None:
        if self.entries is None:
            raise ProviderCannotCheck("no terminal directory is configured", what="terminal")
        found = self.entries.get(serial)
        return None if found is None else found.terminal

    async def _do_balance(self, merchant_id: str, serial: str) -> Balance:
        found = None if self.entries is None else self.entries.get(serial)
        if found is None or found.balance is None or found.terminal.merchant_id != merchant_id:
            raise ProviderCannotCheck("what is owed is not known here", what="balance")
        return found.balance

    async def _do_send_code(self, merchant_id: str, serial: str) -> None:
        raise ProviderCannotCheck("this provider sends no one-time codes", what="phone")

    async def _do_check_code(
        self, merchant_id: str, serial: str, code: str, key: str | None
    ) -> CodeVerdict:
        raise ProviderCannotCheck("this provider sends no one-time codes", what="phone")
