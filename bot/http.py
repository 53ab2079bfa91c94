"""The one ASGI app of ``posbot run``: health, the agent console, and every channel's routes.

``GET /healthz`` answers 200 when the database answers a cheap read, with the channels that run
and posbot's version; 503 when the database does not (a load balancer then looks elsewhere)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from bot import __version__
from bot.bootstrap import App, providers_of
from bot.channels.base import Channel
from bot.console.mount import mount_console
from bot.exports.fit import AttachmentFit
from bot.exports.links import ExportLinks
from bot.exports.route import mount_export_links
from bot.providers.http import HttpProvider
from bot.providers.receiver import mount_status_webhook
from bot.secret_key import secret_key

log = logging.getLogger("posbot.http")


def make_http(app: App, channels: Sequence[Channel]) -> FastAPI:
    """The HTTP app: ``/healthz`` and each channel's routes. ``http.state.running`` holds the
    names of the channels started (``serve`` keeps it up to date); ``http.state.exiting()``
    turns true when the server is stopping, so that long-lived responses (the web chat's
    stream) end instead of holding the shutdown up."""
    http = FastAPI(title="posbot", version=__version__, docs_url=None, redoc_url=None)
    http.state.running = set()
    http.state.exiting = lambda: False  # ``serve`` says when the server is exiting

    @http.get("/healthz")
    async def healthz() -> JSONResponse:
        body: dict[str, Any] = {
            "status": "ok",
            "database": "ok",
            "channels": {
                c.name: "running" if c.name in http.state.running else "stopped" for c in channels
            },
            "version": __version__,
        }
        try:
            app.store.ping()
        except Exception as exc:  # any way the database fails is "not healthy"
            log.warning("health: database unreachable (%s)", type(exc).__name__)
            body.update(status="unavailable", database="unreachable")
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    mount_console(http, app)
    # exports too big for a channel: split for it, or linked from here
    settings = app.settings
    links = ExportLinks(
        secret_key(settings),
        settings.exports_dir / "links",
        settings.public_base,
        settings.export_link_ttl_seconds,
    )
    app.runtime.runner.fit = AttachmentFit(
        links, {channel.name: channel.max_attachment_bytes for channel in channels}
    )
    mount_export_links(http, links, app.engine.catalog, settings.default_locale)
    for provider in providers_of(app.provider):  # status webhooks of those that send them
        if isinstance(provider, HttpProvider):
            mount_status_webhook(http, app.runtime, provider)
    for channel in channels:
        channel.mount(http)
    return http
