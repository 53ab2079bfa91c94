"""Status webhooks from a provider, on posbot's HTTP app: ``POST /providers/<name>/webhook``.

A delivery must be signed with the provider's webhook secret (``bot.providers.signing``) and
recent (``tolerance_seconds``); an event id seen before is a replay and is refused (409); the
status then goes through the engine into the merchant's chat — unless it is the same one again
or older than what posbot already knows (duplicates, out of order), which tell nobody.

    401 bad or missing signature · 401 stale timestamp · 409 replay · 400 not a status
    200 {"changed": true|false}"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot.errors import ProviderUnavailable
from bot.providers.http import HttpProvider
from bot.providers.signing import EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from bot.runtime import Runtime

log = logging.getLogger("posbot.webhooks")


def webhook_path(name: str) -> str:
    return f"/providers/{name}/webhook"


def mount_status_webhook(
    http: FastAPI,
    runtime: Runtime,
    provider: HttpProvider,
    *,
    clock: Callable[[], float] = time.time,
) -> None:
    """Mount the receiver when ``provider``'s file has a webhook; polling covers the rest."""
    webhook = provider.config.webhook
    if webhook is None or not provider.webhook_secret:
        return
    secret, tolerance = provider.webhook_secret, webhook.tolerance_seconds
    seen_on = f"provider:{provider.name}"

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        verdict = verify(
            secret,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            body,
            now=clock(),
            tolerance=tolerance,
        )
        if verdict != "ok":
            log.warning("webhook from %s refused: %s", provider.name, verdict)
            return JSONResponse({"error": verdict}, status_code=401)
        try:
            data: Any = json.loads(body)
            status = provider.status_of(data if isinstance(data, dict) else {})
        except (ValueError, ProviderUnavailable):
            return JSONResponse({"error": "not a status"}, status_code=400)
        event_id = request.headers.get(EVENT_HEADER) or str(data.get("event_id") or "")
        if event_id and not runtime.store.claim_key(seen_on, event_id[:200]):
            return JSONResponse({"error": "replay"}, status_code=409)
        changed = runtime.status_reported(status)
        return JSONResponse({"changed": changed})

    http.add_api_route(webhook_path(provider.name), receive, methods=["POST"])
