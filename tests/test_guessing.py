"""Guessing is useless: nothing about a terminal before its phone is proved, failed detail
checks limited across conversations, and five wrong codes lock even when sent all at once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.guards import DETAIL_LIMITS, MAX_CODE_FAILURES
from tests.chat import CODE, Bot

CLEAN = {"merchant_id": "102100058120001", "serial": "LKL8A2301234", "phone": "+8613800138000"}


async def test_before_the_code_a_check_says_only_whether_the_details_match(
    tmp_path: Path,
) -> None:
    bot = Bot(tmp_path)
    runner = bot.app.runtime.runner
    closed = {"merchant_id": "102100058120003", "serial": "NLD900112233", "phone": "+8613700137000"}
    owing = {"merchant_id": "102100058120002", "serial": "PAXS90778899", "phone": "+8613900139000"}
    for details in (closed, owing, CLEAN):
        assert await runner._verify_terminal({**details, "who": "test:x"}) == ("ok", {})
    # the conversation of the closed terminal: no old ticket before the code, then it
    client = bot.client()
    await client.send("/deregister")
    for answer in ("102100058120003", "NLD900112233", "13700137000"):
        await client.send(answer)
    said = await client.tap("yes")
    assert said.keys == ["verify.wait", "ask.code"] and "SBX-2026-000003" not in said.text
    said = await client.send(CODE)
    assert said.keys == ["code.ok", "verify.deregistered", "end.done"]
    assert "SBX-2026-000003" in said.text


async def test_another_merchants_open_ticket_is_not_shown_to_a_stranger(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    owner = bot.client("owner")
    await owner.to_the_code_question()
    await owner.to_the_summary()
    filed = await owner.tap("yes")
    assert "SBX-2026-000100" in filed.text
    stranger = bot.client("stranger")  # knows the receipt's numbers and the phone, not the code
    await stranger.to_the_code_question()
    for wrong in ("111111", "222222"):
        said = await stranger.send(wrong)
        assert "SBX-2026-000100" not in said.text


async def test_failed_detail_checks_are_limited_per_user_across_conversations(
    tmp_path: Path,
) -> None:
    bot = Bot(tmp_path)
    await bot.client("guesser").send("/start")
    guards = bot.app.runtime.service.guards
    effect = {"call": "verify_terminal", "params": {**CLEAN, "phone": "+8613999999999"}}
    with bot.app.store.transaction() as tx:
        for _ in range(DETAIL_LIMITS["user"]):
            assert guards.before(tx, 1, "test:guesser", effect) is None
            guards.after(tx, 1, "test:guesser", effect, ("no_match", {}))
        assert guards.before(tx, 1, "test:guesser", effect) == ("limited", {})
        other = {**effect, "params": {**effect["params"], "serial": "PAXS90778899"}}
        assert guards.before(tx, 1, "test:guesser", other) == ("limited", {})  # any terminal
        assert guards.before(tx, 1, "test:owner", other) is None  # others are not held back
    # a new conversation of the same user is no fresh start: straight to a person
    client = bot.client("guesser")
    await client.send("/deregister")
    for answer in ("102100058120002", "PAXS90778899", "13900139000"):
        await client.send(answer)
    assert (await client.tap("yes")).keys == ["verify.wait", "handoff.mismatch", "handoff.queue"]


async def test_failed_detail_checks_are_limited_per_terminal_across_users(tmp_path: Path) -> None:
    bot = Bot(tmp_path)

    async def try_details(who: str, phone: str) -> list[str]:
        client = bot.client(who)
        await client.send("/deregister")
        for answer in ("102100058120001", "LKL8A2301234", phone):
            await client.send(answer)
        return (await client.tap("yes")).keys

    for n in range(DETAIL_LIMITS["terminal"]):  # many chat users, one terminal, wrong phone
        assert await try_details(f"bot{n}", "13999999999") == ["verify.wait", "verify.no_match"]
    limited = await try_details("owner", "13800138000")  # even the right details, for now
    assert limited == ["verify.wait", "handoff.mismatch", "handoff.queue"]
    bot.clock.advance(24 * 3600 + 1)  # the window is over
    assert await try_details("owner-later", "13800138000") == ["verify.wait", "ask.code"]


def slow_checks(bot: Bot, seconds: Any) -> list[str]:
    """The provider takes ``seconds(code)`` to judge a code; returns the codes it judged."""
    judged: list[str] = []
    check_code = bot.provider._do_check_code

    async def slow(merchant_id: str, serial: str, code: str, key: Any) -> Any:
        judged.append(code)
        await asyncio.sleep(seconds(code))
        return await check_code(merchant_id, serial, code, key)

    bot.provider._do_check_code = slow  # type: ignore[method-assign]
    return judged


async def test_concurrent_wrong_codes_lock_after_five_against_a_slow_provider(
    tmp_path: Path,
) -> None:
    bot = Bot(tmp_path)
    clients = [bot.client(f"m{n}") for n in range(12)]
    for client in clients:  # twelve chats at the code question of one terminal
        await client.to_the_code_question()
    judged = slow_checks(bot, lambda code: 0.05)
    said = await asyncio.gather(*(c.send(f"{n:06d}") for n, c in enumerate(clients, 100000)))
    assert len(judged) <= MAX_CODE_FAILURES  # the rest never reached the provider
    heard = [s.keys[0] for s in said]
    assert heard.count("handoff.locked") >= 12 - MAX_CODE_FAILURES
    assert set(heard) <= {"code.wrong", "handoff.locked"}
    # the lock holds: no new code is sent for that terminal, whoever asks
    said = await bot.client("fresh").to_the_code_question()
    assert said.keys == ["verify.wait", "handoff.locked", "handoff.queue"]


async def test_a_late_right_answer_never_unlocks(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    owner, *guessers = [bot.client(f"m{n}") for n in range(6)]
    for client in (owner, *guessers):
        await client.to_the_code_question()
    slow_checks(bot, lambda code: 0.3 if code == CODE else 0.01)
    right = asyncio.ensure_future(owner.send(CODE))
    await asyncio.sleep(0.05)  # the right code has taken its attempt and is being judged
    wrong = await asyncio.gather(*(g.send(f"{n:06d}") for n, g in enumerate(guessers, 100000)))
    assert "handoff.locked" in [s.keys[0] for s in wrong]
    # answered "ok" too late: the lock stays
    assert (await right).keys == ["handoff.locked", "handoff.queue"]
    with bot.app.store.reading() as tx:
        record = tx.verification("102100058120001", "LKL8A2301234")
    assert record.locked_until is not None and record.verified_until is None


async def test_a_check_asked_again_after_a_crash_is_not_told_the_code_expired(
    tmp_path: Path,
) -> None:
    bot = Bot(tmp_path)
    runner = bot.app.runtime.runner
    await bot.provider.send_code(CLEAN["merchant_id"], CLEAN["serial"])
    params = {**CLEAN, "code": CODE}
    assert await runner._check_code({**params, "check": "7"}) == ("ok", {})  # answer lost
    assert await runner._check_code({**params, "check": "7"}) == ("ok", {})  # the same, again
    assert await runner._check_code({**params, "check": "8"}) == ("expired", {})  # used up
