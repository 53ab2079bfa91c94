"""No poison message: what no store can keep is cleaned, and an event that still fails to be
handled is set aside after a few attempts — kept for an operator, the merchant told so —
instead of failing on every redelivery."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from bot.engine.events import InboundEvent
from bot.logs import Redacting, redact
from bot.runtime import MAX_EVENT_ATTEMPTS
from tests.chat import CODE, Bot


def failing_on(bot: Bot, word: str) -> list[int]:
    """The engine breaks (a bug) on messages holding ``word``; returns a count of tries."""
    advance = bot.app.engine.advance
    tries = [0]

    def broken(state: Any, event: InboundEvent, **kwargs: Any) -> Any:
        if word in event.text:
            tries[0] += 1
            raise RuntimeError(f"cannot handle {event.text}")
        return advance(state, event, **kwargs)

    bot.app.engine.advance = broken  # type: ignore[method-assign]
    return tries


async def test_a_message_that_keeps_failing_is_set_aside_and_the_merchant_told(
    tmp_path: Path,
) -> None:
    bot = Bot(tmp_path)
    client = bot.client()
    await client.send("/deregister")
    await client.send("102100058120001")
    tries = failing_on(bot, "boom")
    said = await client.send("boom 6228480402564890018")
    assert said.keys == ["system.set_aside"]
    assert tries[0] == MAX_EVENT_ATTEMPTS
    [kept] = bot.app.store.set_aside()
    assert kept["attempts"] == MAX_EVENT_ATTEMPTS and kept["error"] == "RuntimeError"
    assert "6228480402564890018" not in kept["text"] and "boom" in kept["text"]
    assert (await client.replay()).keys == []  # redelivered: a duplicate, nothing more
    assert tries[0] == MAX_EVENT_ATTEMPTS
    # the conversation is where it was, with what was entered
    said = await client.send("LKL8A2301234")
    assert said.keys == ["ask.phone"]


async def test_a_first_message_that_fails_is_set_aside_and_the_next_one_welcomed(
    tmp_path: Path,
) -> None:
    bot = Bot(tmp_path)
    client = bot.client("newcomer")
    failing_on(bot, "boom")
    assert (await client.send("boom")).keys == ["system.set_aside"]
    assert (await client.send("hello")).keys[0] == "menu.welcome"


@pytest.mark.parametrize(
    "text",
    ["\ud800", "102100058120001\udcff", "注销\ud83d", "\udc80" * 50, "/help \ud800"],
)
async def test_lone_surrogates_are_cleaned_not_fatal(tmp_path: Path, text: str) -> None:
    bot = Bot(tmp_path)
    client = bot.client()
    said = await client.send(text)
    assert said.keys  # an answer, not an exception
    assert bot.app.store.set_aside() == []  # handled, not set aside
    button = InboundEvent("test", "merchant", "tap-1", kind="button", payload={"value": "\ud800"})
    await bot.app.runtime.receive(button)


async def test_no_code_card_or_full_phone_reaches_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bot = Bot(tmp_path, demo=False)
    client = bot.client()
    caplog.handler.addFilter(Redacting())
    with caplog.at_level(logging.DEBUG):
        await client.to_the_code_question()
        await client.send(CODE)
        failing_on(bot, "card")
        await client.send("my card 6228480402564890018 phone 13800138000")
    assert "RuntimeError" in caplog.text  # the failures were logged ...
    for secret in (CODE, "6228480402564890018", "13800138000"):
        assert secret not in caplog.text  # ... without what the merchant typed


def test_redact_masks_phones_and_removes_cards_and_codes() -> None:
    line = "to +86 138-0013-8000 / 13800138000: card 6228 4804 0256 4890 018, 验证码 583920"
    clean = redact(line)
    for secret in ("13800138000", "0013-8000", "6228 4804", "583920"):
        assert secret not in clean
    assert "138****8000" in clean
