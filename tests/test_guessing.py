"""Guessing is useless: nothing about a terminal before its phone is proved, failed detail
checks limited across conversations, and five wrong codes lock even when sent all at once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.effects import DETAIL_LIMITS, MAX_CODE_FAILURES
from tests.chat import CODE, Bot

CLEAN = {"merchant_id": "102100058120001", "serial": "LKL8A2301234", "phone": "+8613800138000"}


def check(code: str, n: int, who: str = "test:m") -> dict[str, Any]:
    return {**CLEAN, "code": code, "who": who, "outbox_id": n}


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
    runner = bot.app.runtime.runner
    wrong = {**CLEAN, "phone": "+8613999999999", "who": "test:guesser"}
    for _ in range(DETAIL_LIMITS["user"]):
        assert (await runner._verify_terminal(wrong))[0] == "no_match"
    assert (await runner._verify_terminal(wrong))[0] == "limited"
    # a new conversation of the same user is no fresh start: straight to a person
    client = bot.client("guesser")
    await client.send("/deregister")
    for answer in ("102100058120002", "PAXS90778899", "13900139000"):
        await client.send(answer)
    assert (await client.tap("yes")).keys == ["verify.wait", "handoff.mismatch"]
    # another user is not held back by the guesser
    assert (await runner._verify_terminal({**CLEAN, "who": "test:owner"}))[0] == "ok"


async def test_failed_detail_checks_are_limited_per_terminal_across_users(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    runner = bot.app.runtime.runner
    for n in range(DETAIL_LIMITS["terminal"]):  # many chat users, one terminal
        wrong = {**CLEAN, "phone": "+8613999999999", "who": f"test:bot{n}"}
        assert (await runner._verify_terminal(wrong))[0] == "no_match"
    assert (await runner._verify_terminal({**CLEAN, "who": "test:bot-next"}))[0] == "limited"
    bot.clock.advance(24 * 3600 + 1)  # the window is over
    assert (await runner._verify_terminal({**CLEAN, "who": "test:bot-next"}))[0] == "ok"


async def test_concurrent_wrong_codes_lock_after_five_against_a_slow_provider(
    tmp_path: Path,
) -> None:
    bot = Bot(tmp_path)
    runner = bot.app.runtime.runner
    await bot.provider.send_code(CLEAN["merchant_id"], CLEAN["serial"])
    judged = 0
    check_code = bot.provider._do_check_code

    async def slow(*args: Any) -> Any:
        nonlocal judged
        judged += 1
        await asyncio.sleep(0.05)  # every guess is in flight before the first answer
        return await check_code(*args)

    bot.provider._do_check_code = slow  # type: ignore[method-assign]
    guesses = [runner._check_code(check(f"{n:06d}", n)) for n in range(100000, 100012)]
    outcomes = [outcome for outcome, _ in await asyncio.gather(*guesses)]
    assert judged <= MAX_CODE_FAILURES  # the rest never reached the provider
    assert outcomes.count("wrong") + outcomes.count("locked") == 12
    assert outcomes.count("locked") >= 12 - MAX_CODE_FAILURES + 1
    # the lock holds: the right code is refused now
    assert (await runner._check_code(check(CODE, 99)))[0] == "locked"


async def test_a_late_right_answer_never_unlocks(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    runner = bot.app.runtime.runner
    await bot.provider.send_code(CLEAN["merchant_id"], CLEAN["serial"])
    check_code = bot.provider._do_check_code

    async def slow_when_right(merchant_id: str, serial: str, code: str, key: Any) -> Any:
        await asyncio.sleep(0.3 if code == CODE else 0.01)
        return await check_code(merchant_id, serial, code, key)

    bot.provider._do_check_code = slow_when_right  # type: ignore[method-assign]
    right = asyncio.ensure_future(runner._check_code(check(CODE, 1)))
    await asyncio.sleep(0.01)  # the right code has taken its attempt and is being judged
    wrongs = await asyncio.gather(
        *(runner._check_code(check(f"{n:06d}", n)) for n in range(100000, 100005))
    )
    assert "locked" in [outcome for outcome, _ in wrongs]
    assert (await right)[0] == "locked"  # answered "ok" too late: the lock stays
    with bot.app.store.reading() as tx:
        record = tx.verification(CLEAN["merchant_id"], CLEAN["serial"])
    assert record.locked_until is not None and record.verified_until is None


async def test_a_check_asked_again_after_a_crash_is_not_told_the_code_expired(
    tmp_path: Path,
) -> None:
    bot = Bot(tmp_path)
    runner = bot.app.runtime.runner
    await bot.provider.send_code(CLEAN["merchant_id"], CLEAN["serial"])
    assert (await runner._check_code(check(CODE, 7)))[0] == "ok"  # its answer lost in a crash
    assert (await runner._check_code(check(CODE, 7)))[0] == "ok"  # the same effect, run again
    assert (await runner._check_code(check(CODE, 8)))[0] == "expired"  # another check: used
