"""What the page is given to show: a reply or a line the merchant typed, as plain JSON.

Text stays text (the page sets it with ``textContent``, never as HTML); a file is a link to
``/chat/files/<reply>/<n>`` instead of its bytes; a reply written by a person (an agent, an
operator) says so, and ``in_place`` tells the page to replace the message with the buttons
(a ticked checklist) instead of adding one."""

from __future__ import annotations

import base64
from typing import Any

from bot.store.chat_log import Sent, Typed, latest_replies, typed_since
from bot.store.repository import Store

CHANNEL = "web"
HISTORY = 200  # replies a reload shows again (and the lines typed meanwhile)
BY_A_PERSON = ("agent.reply", "operator.message")  # message keys of what a person wrote
SWITCHES = frozenset({"/lang en", "/lang zh"})  # what the page's language switch sends


def reply_view(sent: Sent) -> dict[str, Any]:
    payload = sent.item.payload
    keys = [str(key) for key in payload.get("keys", [])]
    return {
        "kind": "reply",
        "id": sent.item.id,
        "at": sent.created_at.isoformat(),
        "text": str(payload.get("text", "")),
        "keys": keys,
        "by": "person" if any(key in BY_A_PERSON for key in keys) else "bot",
        "buttons": [
            {"label": str(label), "value": str(value)}
            for label, value in payload.get("buttons", [])
        ],
        "attachments": [
            {
                "name": str(attachment.get("name", "file")),
                "size": _size(str(attachment.get("data", ""))),
                "url": f"/chat/files/{sent.item.id}/{index}",
            }
            for index, attachment in enumerate(payload.get("attachments", []))
        ],
        "in_place": bool(payload.get("in_place")),
    }


def typed_view(typed: Typed) -> dict[str, Any]:
    return {"kind": "typed", "at": typed.created_at.isoformat(), "text": typed.text}


def _size(data: str) -> int:
    padding = len(data) - len(data.rstrip("="))
    return max(0, len(data) * 3 // 4 - padding)


def history(store: Store, visitor: str) -> list[dict[str, Any]]:
    """The latest of the conversation, in the order it happened: the replies (delivered or
    not) and what the merchant typed between them. A line and the replies it led to commit
    together, at one moment; within a moment the transcript says how many replies came
    before each line (one transaction may hold several events of the chat)."""
    replies = latest_replies(store, CHANNEL, visitor, HISTORY)
    since = replies[0].created_at if len(replies) == HISTORY else None
    order: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((line.created_at, line.replies_before, 0), typed_view(line))
        for line in typed_since(store, CHANNEL, visitor, since, HISTORY)
    ]
    moment, nth = None, 0
    for sent in replies:
        nth = nth + 1 if sent.created_at == moment else 0
        moment = sent.created_at
        order.append(((sent.created_at, nth, 1), reply_view(sent)))
    views = [view for _, view in sorted(order, key=lambda pair: pair[0])]
    if views and views[0] == {**views[0], "kind": "typed", "text": "/start"}:
        del views[0]  # what the page sent for a new visitor, not what the merchant typed
    # a tap answered in place (a tick on the checklist) shows as the ticked list, as it did
    # live; the language switch is a control of the page, not a line the merchant wrote
    return [
        view
        for view, after in zip(views, [*views[1:], None], strict=False)
        if not (
            view["kind"] == "typed"
            and (view["text"] in SWITCHES or (after is not None and after.get("in_place")))
        )
    ]


def attachment(sent: Sent, index: int) -> tuple[str, str, bytes] | None:
    """A reply's ``index``-th file: its name, its type and its bytes."""
    files = sent.item.payload.get("attachments", [])
    if not 0 <= index < len(files):
        return None
    found = files[index]
    try:
        data = base64.b64decode(str(found.get("data", "")), validate=True)
    except ValueError:
        return None
    return str(found.get("name", "file")), str(found.get("content_type", "")), data
