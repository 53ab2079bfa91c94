"""A fast route answers its one path and method ahead of the app; everything else is the app's,
and an exception in it is still a 500."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.fast_route import add_fast_route


async def test_the_fast_route_takes_its_path_and_leaves_the_rest_to_the_app() -> None:
    http = FastAPI()

    @http.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    async def hook(request: Request) -> Response:
        body = await request.body()
        if body == b"boom":
            raise RuntimeError("boom")
        return PlainTextResponse(f"took {len(body)} bytes")

    add_fast_route(http, "/hook", "POST", hook)
    transport = httpx.ASGITransport(app=http, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.post("/hook", content=b"12345")).text == "took 5 bytes"
        wrong = await client.get("/hook")
        assert (wrong.status_code, wrong.headers["allow"]) == (405, "POST")
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.post("/hook", content=b"boom")).status_code == 500
        assert (await client.get("/nowhere")).status_code == 404
