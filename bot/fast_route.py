"""A route answered ahead of the HTTP app's own machinery.

A Telegram bot by webhook gets every update of every merchant as a POST to one path. On
FastAPI each such request would pass the body-limit, telemetry, exception and exit-stack
middleware and the router's matching of every console route before it — per update. A
``FastRoute`` takes that one path and method first and leaves everything else to the app.
Only Starlette's outermost error middleware stays around it: an exception is still a 500, and
the platform sends the request again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send


class FastRoute:
    """ASGI middleware: ``method path`` handled by ``endpoint``, the rest by the app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        path: str,
        method: str,
        endpoint: Callable[[Request], Awaitable[Response]],
    ) -> None:
        self.app, self.path, self.method, self.endpoint = app, path, method, endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path:
            if scope["method"] == self.method:
                response = await self.endpoint(Request(scope, receive))
            else:
                response = Response(status_code=405, headers={"Allow": self.method})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def add_fast_route(http: Any, path: str, method: str, endpoint: Any) -> None:
    """``endpoint`` answers ``method path`` on ``http`` (a Starlette or FastAPI app not yet
    started) before its middleware and routes."""
    http.add_middleware(FastRoute, path=path, method=method, endpoint=endpoint)
