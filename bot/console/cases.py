"""The inbox and a conversation's page, and what an agent does there: claim, reply (a canned
reply or their own words), note, correct a value, reveal one (audited), set a request's status
by hand, hand back to the bot at a step, close. Actions on the conversation are events through
``Runtime.receive`` — in the conversation's own transaction, like the merchant's messages."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.responses import Response

from bot.bootstrap import App
from bot.console.case import DETAILS, case_of
from bot.console.desk_status import desk_requests, set_desk_status
from bot.console.verify_form import balance_from_form
from bot.console.web import agent_for, checked_form, page
from bot.engine.events import InboundEvent
from bot.engine.state import ConversationState
from bot.request_states import REQUEST_STATES
from bot.store.people import INBOX_FILTERS

LIVE_EVERY = 1.0  # seconds between looks at the store for a live page (any process may change it)
MAX_REPLY = 4000


def cases_router(app: App) -> APIRouter:
    router = APIRouter(prefix="/console")
    store = app.store

    @router.get("")
    async def home(request: Request) -> Response:
        agent_for(request)
        return RedirectResponse("/console/inbox?f=waiting", status_code=303)

    def listed(request: Request, f: str, template: str) -> Response:
        """The inbox under filter ``f`` (waiting when unknown): the whole page, or its rows."""
        agent = agent_for(request)
        which = f if f in INBOX_FILTERS else "waiting"
        rows = store.inbox(which, agent.name)
        return page(request, template, agent, rows=rows, which=which, now=store.clock())

    @router.get("/inbox")
    async def inbox(request: Request, f: str = "waiting") -> Response:
        return listed(request, f, "inbox.html")

    @router.get("/inbox/rows")
    async def inbox_rows(request: Request, f: str = "waiting") -> Response:
        """What a live inbox fetches again when the server says it changed."""
        return listed(request, f, "_rows.html")

    @router.get("/live")
    async def live(request: Request) -> StreamingResponse:
        """Server-sent events: "changed" whenever the inbox or a transcript changes."""
        agent_for(request)

        async def changes() -> AsyncIterator[str]:
            mark = store.inbox_mark()
            yield "retry: 2000\n\n"
            while True:  # until the browser goes: the response is then cancelled
                await asyncio.sleep(LIVE_EVERY)
                now = store.inbox_mark()
                if now != mark:
                    mark = now
                    yield "event: changed\ndata: {}\n\n"

        return StreamingResponse(changes(), media_type="text/event-stream")

    @router.get("/c/{conversation_id}")
    async def conversation(request: Request, conversation_id: int, reveal: str = "") -> Response:
        agent = agent_for(request)
        shown = reveal if reveal in DETAILS else None
        case = case_of(store, conversation_id, reveal=shown)
        if case is None:
            raise HTTPException(404, "no such conversation")
        if shown and shown in case.details:
            store.record_audit(agent.name, "reveal", conversation_id, json.dumps({"field": shown}))
        steps = (
            [
                s
                for s, step in app.engine.flows.current[case.state.flow].steps.items()
                if step.interactive
            ]
            if case.state.flow in app.engine.flows.current
            else []
        )
        return page(
            request,
            "case.html",
            agent,
            case=case,
            transcript=store.conversation_transcript(conversation_id),
            canned=store.canned_replies(case.conversation["locale"]),
            steps=steps,
            states=REQUEST_STATES,
            desk=desk_requests(app, case.requests),
            error=request.query_params.get("error", ""),
        )

    @router.get("/c/{conversation_id}/transcript")
    async def transcript(request: Request, conversation_id: int) -> Response:
        agent = agent_for(request)
        rows = store.conversation_transcript(conversation_id)
        return page(request, "_transcript.html", agent, transcript=rows)

    @router.post("/c/{conversation_id}/{action}")
    async def act(request: Request, conversation_id: int, action: str) -> Response:
        agent = agent_for(request)
        form = await checked_form(request)
        row = store.conversation_row(conversation_id)
        if row is None:
            raise HTTPException(404, "no such conversation")
        error = await _act(app, agent.name, agent.role, row, action, form)
        target = f"/console/c/{conversation_id}"
        if error:
            target += "?" + _query(error=error)
        return RedirectResponse(target, status_code=303)

    return router


async def _act(
    app: App, agent: str, role: str, row: dict[str, Any], action: str, form: dict[str, str]
) -> str | None:
    """Do ``action``; why it could not be done, or None."""
    channel, user_id, cid = row["channel"], row["user_id"], row["id"]
    if action == "note":
        text = form.get("text", "").strip()[:MAX_REPLY]
        if text:
            app.store.add_note(cid, agent, text)
        return None
    if action == "reply":
        text = form.get("text", "").strip()[:MAX_REPLY]
        if not text:
            return "nothing to send"
        holder = _holder(app, cid)
        if holder != agent:
            return "claim the conversation before replying"
        app.runtime.service.send(channel, user_id, text, key="agent.reply")
        app.runtime.notifier.notify(channel)
        app.store.record_audit(agent, "reply", cid, json.dumps({"chars": len(text)}))
        return None
    if action == "desk":  # a request at the manual or e-mail provider: moved there
        return await set_desk_status(app, agent, row, form)
    if action == "status":
        ticket, state = form.get("ticket", ""), form.get("state", "")
        if state not in REQUEST_STATES or not ticket:
            return "choose a ticket and a state"
        if any(d.ticket == ticket for d in desk_requests(app, [{"ticket": ticket}])):
            return f"{ticket} is at the manual or e-mail provider: move it there"
        event = InboundEvent(
            channel,
            user_id,
            f"agent:{uuid.uuid4().hex}",
            kind="status",
            payload={"ticket": ticket, "state": state, "reason": form.get("reason") or None},
        )
        await app.runtime.receive(event)
        app.store.record_audit(agent, "status", cid, json.dumps({"ticket": ticket, "state": state}))
        return None
    payload: dict[str, Any] = {"action": action, "agent": agent}
    if role == "admin":  # may correct and hand back without holding the claim
        payload["admin"] = True
    if action == "claim" and form.get("reassign") and role == "admin":
        payload["reassign"] = True
    elif action == "handback":
        payload["step"] = form.get("step") or "menu"
    elif action == "correct":
        payload.update(slot=form.get("slot", ""), value=form.get("value", ""))
    elif action == "verify":  # checked with a provider posbot cannot check online
        balance = balance_from_form(form)
        if isinstance(balance, str):
            return balance
        payload["balance"] = balance
    elif action not in ("claim", "release", "close"):
        return f"unknown action {action}"
    why = app.engine.refusal(ConversationState.from_json(row["state"]), payload)
    if why:
        return why
    event = InboundEvent(
        channel, user_id, f"agent:{uuid.uuid4().hex}", kind="agent", payload=payload
    )
    delivery = await app.runtime.receive(event)
    return delivery.refused


def _holder(app: App, conversation_id: int) -> str | None:
    open_ = [h for h in app.store.handoffs_of(conversation_id) if h["closed_at"] is None]
    return open_[-1]["agent"] if open_ else None


def _query(**params: str) -> str:
    return urlencode(params)
