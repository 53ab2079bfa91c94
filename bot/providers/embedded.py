"""The sandbox service beside ``posbot run`` and ``posbot chat``, when no other provider is
configured: started on a free loopback port, with a token and a webhook secret made up for
this run, so the embedded default speaks to its provider over the same HTTP path as production
and still needs no second command."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from pydantic import SecretStr

from bot.bootstrap import make_sandbox
from bot.providers.receiver import webhook_path
from bot.providers.sandbox_server import SandboxServer
from bot.settings import Settings


def embeds_sandbox(settings: Settings) -> bool:
    return settings.provider == "sandbox" and settings.sandbox_url is None


@asynccontextmanager
async def embedded_sandbox(
    settings: Settings,
    *,
    posbot_url: str | None = None,
    on_sms: Callable[[str, str], None] | None = None,
) -> AsyncIterator[Settings]:
    """``settings`` pointed at a sandbox service running until the block ends (unchanged when
    another provider is configured). ``posbot_url``: where posbot's HTTP app listens, for the
    status webhooks; without it (``posbot chat``) posbot polls."""
    if not embeds_sandbox(settings):
        yield settings
        return
    token = secrets.token_urlsafe(24)
    given = settings.sandbox_webhook_secret
    secret = secrets.token_urlsafe(24) if given is None else given.get_secret_value()
    server = SandboxServer(
        make_sandbox(settings, on_sms),
        token=token,
        webhook_url=None if posbot_url is None else posbot_url + webhook_path("sandbox"),
        webhook_secret=secret,
        webhook_every=settings.poll_seconds,
    )
    async with server:
        yield settings.model_copy(
            update={
                "sandbox_url": server.url,
                "sandbox_token": SecretStr(token),
                "sandbox_webhook_secret": SecretStr(secret),
            }
        )
