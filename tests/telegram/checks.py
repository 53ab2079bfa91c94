"""What Telegram checks in what a bot sends: formatted text, lengths and reply markup.

Each check raises ``BadRequest`` with Telegram's own description, so the client library under
test sees the same 400 it would see in production.
"""

from __future__ import annotations

import html
import re
from typing import Any

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64

_HTML_TAGS = frozenset(
    [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    ]
)
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_MD2_RESERVED = frozenset(">#+-=|{}.!")
_MD2_FORMAT = frozenset("_*~|[]")
_INLINE_ACTIONS = frozenset(
    {
        "callback_data",
        "url",
        "login_url",
        "web_app",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)


class BadRequest(Exception):
    """A 400 answer; ``str(exc)`` is the description after ``Bad Request: ``."""


def rendered(text: str, parse_mode: str | None) -> str:
    """The text the user sees: markup removed, entities and escapes resolved."""
    if not parse_mode:
        return text
    mode = parse_mode.lower()
    if mode == "html":
        return _html(text)
    if mode == "markdownv2":
        return _markdown_v2(text)
    if mode == "markdown":
        return re.sub(r"[*_`\[\]]", "", text)
    raise BadRequest(f"unsupported parse_mode {parse_mode}")


def _entities_error(detail: str) -> BadRequest:
    return BadRequest(f"can't parse entities: {detail}")


def _html(text: str) -> str:
    out: list[str] = []
    open_tags: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "<":
            tag = _TAG.match(text, i)
            if tag is None or tag.group(2).lower() not in _HTML_TAGS:
                raise _entities_error(f"Unsupported start tag at byte offset {i}")
            name = tag.group(2).lower()
            if not tag.group(1):
                open_tags.append(name)
            elif not open_tags or open_tags.pop() != name:
                raise _entities_error(f"Unexpected end tag at byte offset {i}")
            i = tag.end()
        elif char == "&":
            entity = _ENTITY.match(text, i)
            if entity is None:
                raise _entities_error(f"Unsupported HTML entity at byte offset {i}")
            out.append(html.unescape(entity.group()))
            i = entity.end()
        else:
            out.append(char)
            i += 1
    if open_tags:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(out)


def _markdown_v2(text: str) -> str:
    out: list[str] = []
    in_code = False
    in_url = False
    i = 0
    while i < len(text):
        char = text[i]
        at_line_start = i == 0 or text[i - 1] == "\n"
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char == "`":
            in_code = not in_code
        elif in_url:
            in_url = char != ")"
        elif in_code:
            out.append(char)
        elif char == "]" and text.startswith("](", i):
            in_url = True
            i += 1
        elif char in _MD2_FORMAT or (char == ">" and at_line_start):
            pass
        elif char in _MD2_RESERVED or char in "()":
            raise _entities_error(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        else:
            out.append(char)
        i += 1
    return "".join(out)


def checked_text(text: str | None, parse_mode: str | None, *, limit: int = MAX_TEXT) -> str:
    shown = rendered(text or "", parse_mode)
    if limit == MAX_TEXT and not shown.strip():
        raise BadRequest("message text is empty")
    if len(shown) > limit:
        raise BadRequest(
            "message is too long" if limit == MAX_TEXT else "message caption is too long"
        )
    return shown


def checked_markup(markup: Any, *, inline_only: bool = False) -> dict[str, Any] | None:
    """Validate a reply_markup object; returns it without ``None`` fields."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise BadRequest("can't parse reply keyboard markup JSON object")
    markup = _without_none(markup)
    if "inline_keyboard" in markup:
        for button in _buttons(markup["inline_keyboard"]):
            _check_inline_button(button)
    elif inline_only:
        raise BadRequest("can't parse inline keyboard markup JSON object")
    elif "keyboard" in markup:
        for button in _buttons(markup["keyboard"]):
            if isinstance(button, str):
                continue
            if not isinstance(button, dict) or not button.get("text"):
                raise BadRequest("can't parse keyboard button: Text must be non-empty")
    elif markup.get("remove_keyboard") is not True and markup.get("force_reply") is not True:
        raise BadRequest("can't parse reply keyboard markup JSON object")
    return markup


def inline_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not markup or "inline_keyboard" not in markup:
        return []
    return [button for row in markup["inline_keyboard"] for button in row]


def _buttons(rows: Any) -> list[Any]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise BadRequest("can't parse reply keyboard markup JSON object")
    return [button for row in rows for button in row]


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise BadRequest("can't parse inline keyboard button: Text must be a String")
    actions = _INLINE_ACTIONS & button.keys()
    if len(actions) != 1:
        raise BadRequest("text buttons are unallowed in the inline keyboard")
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
        raise BadRequest("BUTTON_DATA_INVALID")


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_none(item) for item in value]
    return value
