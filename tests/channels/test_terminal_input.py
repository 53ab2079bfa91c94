"""What ``posbot chat`` is typed that once killed it."""

from __future__ import annotations

from pathlib import Path

from bot.channels.terminal import TerminalChat
from tests.chat import Bot


def chat_for(bot: Bot, lines: list[str], tmp_path: Path) -> TerminalChat:
    return TerminalChat(
        bot.app.runtime, user_id="me", locale="en", write=lines.append,
        exports_dir=tmp_path / "exports",
    )  # fmt: skip


async def test_a_circled_digit_killed_the_chat(tmp_path: Path) -> None:
    bot, shown = Bot(tmp_path), []
    chat = chat_for(bot, shown, tmp_path)
    await chat.resume()
    for typed in ("①", "²", "9" * 5000, "١"):
        event = chat.event_for(typed)  # str.isdigit() is true for each; int() refused some
        assert event.kind == "text"
        await chat.send(typed)
    assert shown  # answered every time


async def test_a_button_number_still_taps_the_button(tmp_path: Path) -> None:
    bot, shown = Bot(tmp_path), []
    chat = chat_for(bot, shown, tmp_path)
    await chat.resume()
    event = chat.event_for(" 1 ")
    assert event.kind == "button" and event.payload["value"] == "deregister"
    assert chat.event_for("0").kind == "text" and chat.event_for("99").kind == "text"
