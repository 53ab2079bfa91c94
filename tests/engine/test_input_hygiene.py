"""Regression tests for what merchants typed that the core mishandled: each is named after what
broke. They run a real app (SQLite file, sandbox provider) and look at what was stored."""

from __future__ import annotations

from pathlib import Path

from bot.engine.engine import MAX_TEXT
from bot.engine.events import InboundEvent
from tests.chat import CODE, Bot, Client
from tests.engine.stored import everything_stored

CARD = "6228480012345671"  # Luhn-valid
CARD_GROUPED = "6228-4800-1234-5671"
RESIDENT_ID = "11010519491231002X"


async def at_the_code_question(bot: Bot) -> Client:
    client = bot.client()
    said = await client.to_the_code_question()
    assert said.keys == ["verify.wait", "ask.code"]
    return client


def transcript(bot: Bot, client: Client) -> str:
    return "\n".join(text for _, text in bot.app.store.transcript("test", client.user))


# -- the shield sees every message ----------------------------------------------------------


async def test_a_card_number_as_the_first_message_was_stored(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = bot.client()
    said = await client.send(f"你好 我的卡号 {CARD_GROUPED} 要注销")
    assert said.keys == ["shield.card", "menu.welcome", "menu.prompt"]
    stored = everything_stored(bot)
    assert CARD_GROUPED not in stored and "48001234" not in stored


async def test_a_card_number_after_a_command_was_stored(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = bot.client()
    await client.send("/start")
    said = await client.send(f"/help {CARD_GROUPED}")
    assert said.keys[0] == "shield.card"
    assert "system.help" in said.keys
    assert "4800-1234" not in everything_stored(bot)


async def test_a_bank_code_after_status_was_stored(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = bot.client()
    await client.send("/start")
    said = await client.send("/status 您的验证码为583920")
    assert said.keys[:2] == ["shield.code", "status.none"]
    assert "583920" not in everything_stored(bot)


async def test_a_card_at_the_end_of_a_long_message_kept_15_of_its_digits(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = bot.client()
    await client.send("/start")
    padding = "好" * (MAX_TEXT - 8)
    said = await client.send(f"{padding} {CARD}")
    assert said.keys[0] == "shield.card"
    stored = everything_stored(bot)
    assert CARD[:15] not in stored and CARD[:8] not in stored


async def test_a_resident_id_number_was_stored(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = bot.client()
    await client.send("/deregister")
    said = await client.send(f"法人身份证 {RESIDENT_ID}")
    assert said.keys == ["shield.id"]
    said = await client.send("102100058120001")
    assert said.keys == ["ask.serial"]  # the question stays, no try was used
    assert "19491231" not in everything_stored(bot)


async def test_merchant_number_serial_and_phone_together_were_taken_for_a_card(
    tmp_path: Path,
) -> None:
    bot = Bot(tmp_path)
    client = bot.client()
    await client.send("/deregister")
    for typed in (
        "102100058120001 LKL8A2301234 13800138000",
        "１０２１００５８１２０００１　ＬＫＬ８Ａ２３０１２３４　１３８００１３８０００",
        "102100058120001-LKL8A2301234-138-0013-8000",
    ):
        said = await client.send(typed)
        assert "shield.card" not in said.keys, typed
    assert "13800138000" not in transcript(bot, client)
    assert "102100058120001" not in transcript(bot, client)


# -- one-time codes are never stored while one is outstanding ------------------------------


async def test_a_code_typed_after_help_at_the_code_question_was_stored(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = await at_the_code_question(bot)
    said = await client.send("/help")
    assert said.keys == ["help.code", "ask.code"]
    await client.send(f"/help {CODE}")
    await client.send(f"/status 验证码 {CODE[:3]} {CODE[3:]}")
    await client.send(f"是这个吗 {CODE}")
    assert CODE not in everything_stored(bot)
    assert f"{CODE[:3]} {CODE[3:]}" not in everything_stored(bot)


async def test_a_code_typed_while_a_person_is_awaited_was_stored(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = await at_the_code_question(bot)
    await client.send("/agent")
    said = await client.send(f"the code is {CODE}, thanks")
    assert said.keys == ["handoff.waiting"]
    assert CODE not in everything_stored(bot)


async def test_six_digits_are_kept_again_once_the_code_is_checked(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = await at_the_code_question(bot)
    said = await client.send(CODE)
    assert said.keys[:2] == ["code.ok", "checklist.intro"]
    await client.send("订单号 135790 已经备份")
    assert "135790" in transcript(bot, client)
    assert CODE not in everything_stored(bot)


# -- what is stored is masked like the bot's echoes -----------------------------------------


async def test_phone_and_merchant_numbers_were_stored_as_typed(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = bot.client()
    await client.send("/deregister")
    await client.send("商户号 1021 0005 8120 001")
    await client.send("LKL8A2301234")
    await client.send("+86 138-0013-8000")
    await client.send("/help 我的手机 １３８００１３８０００")
    stored = transcript(bot, client)
    assert "1021*******0001" in stored and "138****8000" in stored
    for raw in ("1021 0005 8120 001", "138-0013-8000", "13800138000", "１３８００１３８０００"):
        assert raw not in stored


# -- no poison message ----------------------------------------------------------------------


async def test_a_lone_surrogate_could_not_be_stored(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = bot.client()
    said = await client.send("hello \ud800")
    assert said.keys == ["menu.welcome", "menu.prompt"]
    said = await client.send("\udcff1")  # invalid UTF-8 read with surrogateescape, then "1"
    assert said.keys  # answered, whatever it was taken for


def test_the_engine_takes_a_lone_surrogate_by_itself(tmp_path: Path) -> None:
    engine = Bot(tmp_path).app.engine
    outcome = engine.advance(None, InboundEvent("test", "u", "k", text="\ud800\ud800"))
    assert outcome.inbound_text is not None and "\ud800" not in outcome.inbound_text
    outcome.inbound_text.encode("utf-8")


async def test_thousands_of_digits_raised_in_int(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = bot.client()
    await client.send("/start")
    said = await client.send("9" * 5000)
    assert said.keys == ["choice.unknown"]
    await client.send("/deregister")
    said = await client.send("1" * 5000)
    assert said.keys == ["invalid.too_long", "retry.left"]


async def test_a_circled_digit_at_the_menu_raised_in_int(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = bot.client()
    await client.send("/start")
    said = await client.send("⑤")  # str.isdigit() is true, int() refuses it; NFKC reads "5"
    assert said.keys == ["faq.prompt"]
    for typed in ("١", "𝟘", "¹²³⁴"):
        said = await client.send("/start")
        said = await client.send(typed)
        assert said.keys, typed


async def test_invisible_characters_inside_a_number_were_refused(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = bot.client()
    await client.send("/deregister")
    said = await client.send("1021\u200c0005\u200d8120\u202e001")
    assert said.keys == ["ask.serial"]
    said = await client.send("LKL8\u2060A230\ufeff1234")
    assert said.keys == ["ask.phone"]
    said = await client.send("138\u00ad0013\u200b8000")
    assert said.keys == ["confirm.details"]


async def test_template_syntax_and_emoji_get_an_answer_and_are_never_rendered(
    tmp_path: Path,
) -> None:
    bot = Bot(tmp_path)
    client = bot.client()
    for typed in ("{{ 7*7 }}", "{% for x in range(9) %}x{% endfor %}", "😀" * 50, "x" * 10_240):
        await client.send("/deregister")
        said = await client.send(typed)
        # an emoji is not an attempt at the number: answered, and no try used (issue 20)
        first = "understanding.not_an_answer" if typed.startswith("😀") else "invalid."
        assert said.keys[0].startswith(first), typed
        assert "49" not in said.text and "xxxxxxxxx" not in said.text
    await client.send("/start")
    said = await client.send("{{ 7*7 }}")
    assert said.keys == ["choice.unknown"] and "49" not in said.text


# -- corrections at the summary --------------------------------------------------------------


async def test_a_serial_changed_at_the_summary_was_filed_unverified(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = await at_the_code_question(bot)
    await client.to_the_summary()
    await client.tap("edit:serial")
    said = await client.send("PAXS90778899")  # merchant 2's serial: not merchant 1's terminal
    assert said.keys == ["confirm.recheck", "verify.wait", "verify.no_match"]
    await client.tap("fix")
    await client.tap("edit:merchant_id")
    await client.send("102100058120002")
    await client.tap("edit:phone")
    await client.send("13900139000")
    said = await client.tap("yes")
    assert said.keys == ["verify.wait", "ask.code"]
    said = await client.send(CODE)
    assert said.keys == ["code.ok", "balance.outstanding"]  # the new terminal's money is shown
    await client.tap("yes")
    await client.tap("all")
    said = await client.tap("other")
    assert said.keys == ["documents.prepare", "summary"]
    said = await client.tap("yes")
    assert said.keys == ["submit.wait", "submit.filed", "end.done"]
    (filed,) = bot.app.store.requests()
    assert (filed["merchant_id"], filed["serial"]) == ("102100058120002", "PAXS90778899")
