"""The terminal channel: numbered buttons, and coming back to a conversation."""

from __future__ import annotations

from pathlib import Path

from bot.channels.terminal import TerminalChat
from tests.chat import Bot


def chat_for(bot: Bot, lines: list[str], tmp_path: Path, locale: str | None = "en") -> TerminalChat:
    return TerminalChat(
        bot.app.runtime, user_id="me", locale=locale, write=lines.append,
        exports_dir=tmp_path / "exports",
    )  # fmt: skip


async def test_a_new_merchant_is_welcomed(tmp_path: Path) -> None:
    bot, shown = Bot(tmp_path), []
    await chat_for(bot, shown, tmp_path).resume()
    assert shown[0].startswith("Hello!") and "  1) Deregister a terminal" in shown


async def test_coming_back_shows_the_question_where_the_merchant_left(tmp_path: Path) -> None:
    bot, shown = Bot(tmp_path), []
    chat = chat_for(bot, shown, tmp_path)
    await chat.resume()
    await chat.send("1")  # a number taps the button with that number
    await chat.send("102100058120001")
    assert shown[-1].startswith("Please enter the terminal's serial number")

    bot.restart()
    shown.clear()
    chat = chat_for(bot, shown, tmp_path, locale=None)
    await chat.resume()
    assert len(shown) == 1 and shown[0].startswith("Please enter the terminal's serial number")
    await chat.send("LKL8A2301234")
    assert shown[-1].startswith("Please enter the mobile number")


async def test_coming_back_with_another_language_switches_to_it(tmp_path: Path) -> None:
    bot, shown = Bot(tmp_path), []
    chat = chat_for(bot, shown, tmp_path)
    await chat.resume()
    await chat.send("1")
    shown.clear()
    await chat_for(bot, shown, tmp_path, locale="zh").resume()
    assert shown == [
        "已切换为中文。",
        "请输入商户号（15 位数字，印在签购单上，也可在商户 App 中查看）：",
    ]


async def test_a_number_is_a_tap_only_when_it_names_a_button(tmp_path: Path) -> None:
    bot, shown = Bot(tmp_path), []
    chat = chat_for(bot, shown, tmp_path)
    await chat.resume()
    assert chat.event_for("2").kind == "button"
    assert chat.event_for("9").kind == "text"
    await chat.send("1")
    assert chat.event_for("1").kind == "text"  # a typed question has no buttons
