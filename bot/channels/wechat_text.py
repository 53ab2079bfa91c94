"""posbot's replies as WeChat text, and the account's menu.

A 公众号 conversation is text only (no inline buttons): a reply's buttons become numbered
options under it, and the merchant answers with the number, the label or their own words. A
text longer than WeChat takes (2,048 bytes) is cut into several messages at line ends. An
attachment cannot be handed over in a text: its name is shown instead."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.i18n import Catalog

MAX_BYTES = 2000  # WeChat's limit on a text message is 2,048 bytes of UTF-8; kept below it
# the menu's click keys and the command each one is (the locales name them)
MENU: Mapping[str, str] = {
    "POSBOT_DEREGISTER": "deregister",
    "POSBOT_SUSPEND": "suspend",
    "POSBOT_STATUS": "status",
    "POSBOT_AGENT": "agent",
}


def text_of(payload: Mapping[str, Any]) -> str:
    """One reply as it reads on WeChat: its text, then its buttons numbered from 1."""
    lines = [str(payload.get("text", ""))]
    buttons: Sequence[Sequence[str]] = payload.get("buttons") or []
    lines += [f"{number}. {label}" for number, (label, _value) in enumerate(buttons, 1)]
    lines += [f"📎 {a['name']}" for a in payload.get("attachments") or []]
    return "\n".join(line for line in lines if line)


def parts_of(payload: Mapping[str, Any]) -> list[str]:
    """The messages one reply becomes (usually one)."""
    return split_bytes(text_of(payload))


def split_bytes(text: str, limit: int = MAX_BYTES) -> list[str]:
    """``text`` in parts of at most ``limit`` UTF-8 bytes, cut at line ends where possible."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line.encode()) > limit:  # one line longer than a message: cut it hard
            if current:
                parts.append(current)
                current = ""
            cut = _fit(line, limit)
            parts.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode()) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        parts.append(current)
    return [p for p in parts if p.strip()]


def _fit(line: str, limit: int) -> int:
    """How many characters of ``line`` fit in ``limit`` bytes."""
    size = 0
    for index, char in enumerate(line):
        size += len(char.encode())
        if size > limit:
            return index
    return len(line)


def button_of(payload: Mapping[str, Any] | None, text: str) -> tuple[str, str] | None:
    """The option a typed number picks on the latest reply: (label, value); None when ``text``
    is not one of its numbers (the engine still reads labels and words)."""
    buttons = (payload or {}).get("buttons") or []
    wanted = text.strip()
    if not (wanted.isascii() and wanted.isdigit() and len(wanted) <= 3):
        return None
    number = int(wanted)
    if not 1 <= number <= len(buttons):
        return None
    label, value = buttons[number - 1]
    return str(label), str(value)


def menu_of(catalog: Catalog, locale: str) -> dict[str, Any]:
    """The account's menu (自定义菜单): one click button per command, named in ``locale``. WeChat
    takes at most three top-level buttons: 注销 and 停机 sit under one (办理)."""

    def click(key: str) -> dict[str, str]:
        name = catalog.render(locale, f"wechat.menu.{MENU[key]}", {})
        return {"type": "click", "name": name, "key": key}

    apply = catalog.render(locale, "wechat.menu.apply", {})
    return {
        "button": [
            {"name": apply, "sub_button": [click("POSBOT_DEREGISTER"), click("POSBOT_SUSPEND")]},
            click("POSBOT_STATUS"),
            click("POSBOT_AGENT"),
        ]
    }
