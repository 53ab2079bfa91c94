"""One posbot in front of several providers: each merchant's calls go to the provider their
merchant number routes to — the longest matching prefix in the table wins (a whole merchant
number is its own longest prefix, so an explicit entry beats a prefix), else the default.

A terminal is found at the provider its merchant number routes to; a ticket at whichever
provider knows it (remembered when filed, asked in turn otherwise) — tickets of different
providers must not look alike (the sandbox's SBX-, the desks' EM-/MA-)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.errors import ProviderRejected
from bot.providers.base import (
    Balance,
    CodeVerdict,
    ExportedFile,
    Filing,
    Provider,
    RequestStatus,
    Terminal,
)


class RoutingProvider(Provider):
    name = "routed"

    def __init__(self, default: Provider, routes: Mapping[str, Provider]) -> None:
        self.default = default
        self.routes = dict(sorted(routes.items(), key=lambda kv: -len(kv[0])))  # longest first
        self.merchant_id_pattern = default.merchant_id_pattern
        self._tickets: dict[str, Provider] = {}  # a cache: the provider is asked otherwise

    @property
    def providers(self) -> list[Provider]:
        """Every provider behind it, each once, the default first."""
        found: list[Provider] = [self.default]
        for provider in self.routes.values():
            if all(provider is not p for p in found):
                found.append(provider)
        return found

    def route(self, merchant_id: str) -> Provider:
        for prefix, provider in self.routes.items():
            if merchant_id.startswith(prefix):
                return provider
        return self.default

    # siblings in one package: their I/O, converted once by our caller
    async def _do_find_terminal(self, serial: str) -> Terminal | None:
        for provider in self.providers:
            found = await provider._do_find_terminal(serial)
            if found is not None and self.route(found.merchant_id) is provider:
                return found
        return None

    async def _do_balance(self, merchant_id: str, serial: str) -> Balance:
        return await self.route(merchant_id)._do_balance(merchant_id, serial)

    async def _do_export_records(self, merchant_id: str, serial: str) -> list[ExportedFile]:
        return await self.route(merchant_id)._do_export_records(merchant_id, serial)

    async def _do_send_code(self, merchant_id: str, serial: str) -> None:
        await self.route(merchant_id)._do_send_code(merchant_id, serial)

    async def _do_check_code(
        self, merchant_id: str, serial: str, code: str, key: str | None
    ) -> CodeVerdict:
        return await self.route(merchant_id)._do_check_code(merchant_id, serial, code, key)

    async def _do_submit(self, filing: Filing) -> RequestStatus:
        provider = self.route(filing.merchant_id)
        status = await provider.submit(filing)
        self._tickets[status.ticket] = provider
        return status

    async def _do_status(self, ticket: str) -> RequestStatus:
        return await self._at(ticket, cancel=False)

    async def _do_cancel(self, ticket: str) -> RequestStatus:
        return await self._at(ticket, cancel=True)

    async def _at(self, ticket: str, *, cancel: bool) -> RequestStatus:
        known = self._tickets.get(ticket)
        for provider in [known] if known else self.providers:
            try:
                status = await (provider.cancel(ticket) if cancel else provider.status(ticket))
            except ProviderRejected as exc:
                if exc.code == "unknown_ticket" and known is None:
                    continue
                raise
            self._tickets[ticket] = provider
            return status
        raise ProviderRejected(f"no provider knows request {ticket!r}", code="unknown_ticket")
