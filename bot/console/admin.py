"""Logging in and out, and what admins manage: agents (add, reset a password, disable), canned
replies per locale, and the audit log."""

from __future__ import annotations

import json
import secrets

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from bot.bootstrap import App
from bot.console.auth import COOKIE, ROLES, SESSION_LASTS, Auth, hash_password, new_password
from bot.console.web import agent_for, checked_form, page
from bot.secret_key import sign, unsign

LOGIN_COOKIE = "posbot_login"  # a nonce the login form's token is bound to


def admin_router(app: App) -> APIRouter:
    router = APIRouter(prefix="/console")
    store = app.store

    @router.get("/login")
    async def login_form(request: Request, error: str = "") -> Response:
        auth: Auth = request.app.state.console_auth
        nonce = secrets.token_urlsafe(16)
        response = page(
            request, "login.html", None, login_csrf=sign(auth.key, "login", nonce), error=error
        )
        response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="strict")
        return response

    @router.post("/login")
    async def login(request: Request) -> Response:
        auth: Auth = request.app.state.console_auth
        form = await request.form()
        nonce = request.cookies.get(LOGIN_COOKIE)
        if not nonce or unsign(auth.key, "login", str(form.get("csrf", ""))) != nonce:
            raise HTTPException(403, "the form is stale or forged: reload the page")
        address = request.client.host if request.client else "-"
        done = auth.log_in(str(form.get("name", "")), str(form.get("password", "")), address)
        if done.token is None:
            return RedirectResponse(f"/console/login?error={done.refused}", status_code=303)
        response = RedirectResponse("/console/inbox?f=waiting", status_code=303)
        response.set_cookie(
            COOKIE,
            done.token,
            max_age=int(SESSION_LASTS.total_seconds()),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        response.delete_cookie(LOGIN_COOKIE)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        agent_for(request)
        await checked_form(request)
        auth: Auth = request.app.state.console_auth
        auth.log_out(request.cookies.get(COOKIE))
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @router.get("/agents")
    async def agents(request: Request, password: str = "", name: str = "") -> Response:
        agent = agent_for(request, "admin")
        return page(
            request,
            "agents.html",
            agent,
            agents=store.agents(),
            roles=ROLES,
            new_password=password,
            new_name=name,
        )

    @router.post("/agents")
    async def change_agents(request: Request) -> Response:
        agent = agent_for(request, "admin")
        form = await checked_form(request)
        name, action = form.get("name", "").strip()[:64], form.get("action", "")
        if not name:
            raise HTTPException(400, "a name is needed")
        password = ""
        if action == "add":
            role = form.get("role", "agent")
            if role not in ROLES or store.agent_named(name) is not None:
                raise HTTPException(400, "a new name and a role (agent or admin) are needed")
            password = new_password()
            store.add_agent(name, role, hash_password(password))
        elif action == "reset":
            password = new_password()
            if not store.set_password(name, hash_password(password)):
                raise HTTPException(404, "no such agent")
        elif action == "disable" and name != agent.name:
            store.disable_agent(name)
        else:
            raise HTTPException(400, "add, reset or disable (not yourself)")
        store.record_audit(agent.name, f"agent_{action}", None, json.dumps({"name": name}))
        query = f"?name={name}&password={password}" if password else ""
        return RedirectResponse(f"/console/agents{query}", status_code=303)

    @router.get("/canned")
    async def canned(request: Request) -> Response:
        agent = agent_for(request, "admin")
        locales = app.engine.catalog.locales
        return page(request, "canned.html", agent, replies=store.canned_replies(), locales=locales)

    @router.post("/canned")
    async def change_canned(request: Request) -> Response:
        agent = agent_for(request, "admin")
        form = await checked_form(request)
        if form.get("action") == "delete":
            store.delete_canned_reply(agent.name, int(form.get("id", "0") or 0))
        else:
            locale, title, text = (
                form.get("locale", ""),
                form.get("title", ""),
                form.get("text", ""),
            )
            if locale not in app.engine.catalog.locales or not title.strip() or not text.strip():
                raise HTTPException(400, "a locale, a title and a text are needed")
            reply_id = int(form["id"]) if form.get("id", "").isdigit() else None
            store.save_canned_reply(agent.name, locale, title.strip(), text.strip(), reply_id)
        return RedirectResponse("/console/canned", status_code=303)

    @router.get("/audit")
    async def audit(request: Request) -> Response:
        agent = agent_for(request, "admin")
        return page(request, "audit.html", agent, rows=store.audit_log())

    return router
