"""``GET /exports/{file id}/{name}``: a kept export, downloaded through its signed link.

A forged link is answered 403, an expired or removed one 410 — in a short plain sentence in the
browser's language (from the locales), never a traceback."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response

from bot.channels.webchat.language import from_accept_language
from bot.exports.links import ExportLinks
from bot.i18n import Catalog

STATUS = {"forged": 403, "expired": 410, "gone": 410}
KEYS = {verdict: f"export_link.{verdict}" for verdict in STATUS}


def mount_export_links(
    http: FastAPI, links: ExportLinks, catalog: Catalog, default_locale: str
) -> None:
    @http.get("/exports/{file_id}/{name}", include_in_schema=False)
    async def download(
        request: Request, file_id: str, name: str, expires: str = "", sig: str = ""
    ) -> Response:
        verdict, path = links.check(file_id, name, expires, sig)
        if verdict != "ok":
            locale = from_accept_language(
                request.headers.get("accept-language"), catalog.locales, default_locale
            )
            text = catalog.render(locale, KEYS[verdict], {})
            return PlainTextResponse(
                text + "\n", status_code=STATUS[verdict], headers={"Cache-Control": "no-store"}
            )
        return FileResponse(
            path,
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, no-store",
            },
        )
