"""A provider made of two: terminals and one-time codes from one (``directory``: the sandbox, an
HTTP API, the operator's terminal file), requests filed at another desk (e-mail, manual) — for
providers that take requests without an API, while posbot still checks what it can."""

from __future__ import annotations

from bot.providers.base import (
    Balance,
    CodeVerdict,
    Directory,
    ExportedFile,
    Filing,
    Provider,
    RequestDesk,
    RequestStatus,
    Terminal,
)


class Composite(Provider):
    def __init__(self, name: str, directory: Directory, desk: RequestDesk) -> None:
        self.name = name
        self.directory = directory
        self.desk = desk
        self.merchant_id_pattern = directory.merchant_id_pattern

    # the directory's own I/O: these are siblings in one package, converted once by our caller
    async def _do_find_terminal(self, serial: str) -> Terminal | None:
        return await self.directory._do_find_terminal(serial)

    async def _do_balance(self, merchant_id: str, serial: str) -> Balance:
        return await self.directory._do_balance(merchant_id, serial)

    async def _do_export_records(self, merchant_id: str, serial: str) -> list[ExportedFile]:
        return await self.directory._do_export_records(merchant_id, serial)

    async def _do_send_code(self, merchant_id: str, serial: str) -> None:
        await self.directory._do_send_code(merchant_id, serial)

    async def _do_check_code(
        self, merchant_id: str, serial: str, code: str, key: str | None
    ) -> CodeVerdict:
        return await self.directory._do_check_code(merchant_id, serial, code, key)

    async def _do_submit(self, filing: Filing) -> RequestStatus:
        return await self.desk.submit(filing)

    async def _do_status(self, ticket: str) -> RequestStatus:
        return await self.desk.status(ticket)

    async def _do_cancel(self, ticket: str) -> RequestStatus:
        return await self.desk.cancel(ticket)
