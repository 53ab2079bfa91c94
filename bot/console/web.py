"""What every console page shares: the templates, who is logged in, the role a page needs and
the CSRF check every form passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from bot.console.auth import COOKIE, ROLES, Auth
from bot.store.people import AgentRecord

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


class LoginNeeded(Exception):
    """An anonymous request for a page: off to the login form."""


def agent_for(request: Request, role: str = "agent") -> AgentRecord:
    """The logged-in agent, holding at least ``role`` — else the request is refused: a page
    sends the anonymous to the login form, anything else gets 401; the wrong role gets 403."""
    auth: Auth = request.app.state.console_auth
    agent = auth.agent_of(request.cookies.get(COOKIE))
    if agent is None:
        if request.method == "GET":
            raise LoginNeeded
        raise HTTPException(401, "log in first")
    if ROLES.index(agent.role) < ROLES.index(role):
        raise HTTPException(403, "not allowed for your role")
    return agent


async def checked_form(request: Request) -> dict[str, str]:
    """The posted form, refused (403) unless it carries this session's CSRF token."""
    form = await request.form()
    auth: Auth = request.app.state.console_auth
    if not auth.csrf_ok(request.cookies.get(COOKIE), str(form.get("csrf", ""))):
        raise HTTPException(403, "the form is stale or forged: reload the page")
    return {k: str(v) for k, v in form.items()}


def page(request: Request, name: str, agent: AgentRecord | None, **context: Any) -> Response:
    auth: Auth = request.app.state.console_auth
    token = request.cookies.get(COOKIE)
    csrf = auth.csrf_token(token) if token and agent else ""
    return templates.TemplateResponse(request, name, {"agent": agent, "csrf": csrf, **context})
