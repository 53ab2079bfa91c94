"""The console on `posbot run`'s app: its routes, its static files, and the login redirect."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from bot.bootstrap import App
from bot.console.admin import admin_router
from bot.console.auth import Auth
from bot.console.cases import cases_router
from bot.console.web import HERE, LoginNeeded
from bot.secret_key import secret_key


def mount_console(http: FastAPI, app: App) -> None:
    http.state.console_auth = Auth(app.store, secret_key(app.settings))
    http.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
    http.include_router(admin_router(app))
    http.include_router(cases_router(app))

    @http.exception_handler(LoginNeeded)
    async def to_login(request: Request, exc: LoginNeeded) -> Response:
        return RedirectResponse("/console/login", status_code=303)
