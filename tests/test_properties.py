"""Property tests: whatever a merchant types, at whatever step, as a first message or after a
command, nothing raises, every message is answered, and no card number, ID number or
outstanding one-time code is ever written to the database (transcript, conversation state,
outbox — every text column of every table).

One app (real SQLite file, sandbox provider) serves every example of a test; each example is a
new merchant (user id), so examples do not see each other's conversations. What one example
stores is what its message added: the database before it is the baseline."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.cn import ric

from bot.validation import normalize
from tests.chat import CODE, Bot, Client, Said
from tests.engine.stored import everything_stored

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BROKEN = {"handoff.error", "system.set_aside"}  # what the merchant hears when something raised

# -- the steps a message can arrive at -------------------------------------------------------


async def _fresh(client: Client) -> None:
    """Nothing yet: the message is the first of a new conversation."""


async def _menu(client: Client) -> None:
    await client.send("/start")


async def _ask_merchant(client: Client) -> None:
    await client.send("/deregister")


async def _ask_serial(client: Client) -> None:
    await client.send("/deregister")
    await client.send("102100058120001")


async def _ask_phone(client: Client) -> None:
    await _ask_serial(client)
    await client.send("LKL8A2301234")


async def _confirm(client: Client) -> None:
    await _ask_phone(client)
    await client.send("13800138000")


async def _code(client: Client) -> None:
    await client.to_the_code_question()


async def _waiting_for_a_person(client: Client) -> None:
    await client.to_the_code_question()
    await client.send("/agent")


async def _checklist(client: Client) -> None:
    await client.to_the_code_question()
    await client.send(CODE)
    await client.tap("next")
    await client.tap("done")


async def _summary(client: Client) -> None:
    await client.to_the_code_question()
    await client.to_the_summary()


Place = Callable[[Client], Awaitable[None]]
PLACES: dict[str, Place] = {
    "fresh": _fresh,
    "menu": _menu,
    "ask_merchant": _ask_merchant,
    "ask_serial": _ask_serial,
    "ask_phone": _ask_phone,
    "confirm": _confirm,
    "code": _code,
    "waiting_for_a_person": _waiting_for_a_person,
    "checklist": _checklist,
    "summary": _summary,
}
CODE_OUTSTANDING = {"code", "waiting_for_a_person"}  # six digits there are the code
COMMANDS = ("", "/help ", "/status ", "/lang ", "/agent ")

# -- what a merchant might type --------------------------------------------------------------

anything = st.text(st.characters(codec=None, exclude_categories=()), max_size=60)
words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    """A Luhn-valid card number of 16–19 digits with a real issuer's prefix."""
    prefix = draw(st.sampled_from(["4", "51", "55", "62", "6228", "2221"]))
    length = draw(st.integers(16, 19))
    body = prefix + draw(st.text("0123456789", min_size=length - len(prefix) - 1,
                                 max_size=length - len(prefix) - 1))  # fmt: skip
    return body + luhn.calc_check_digit(body)


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    """A resident ID number: region, birth date, sequence, and its check digit."""
    region = draw(st.integers(110000, 659999))
    born = date(1940, 1, 1) + timedelta(days=draw(st.integers(0, 365 * 70)))
    sequence = draw(st.integers(0, 999))
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


codes = st.text("0123456789", min_size=6, max_size=6).filter(lambda c: c != CODE)


def _grouped(digits: str, separator: str) -> str:
    return separator.join(digits[i : i + 4] for i in range(0, len(digits), 4))


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "0" <= c <= "9" else c for c in text)


@st.composite
def secrets(draw: st.DrawFn, place: str) -> tuple[str, list[str]]:
    """What is typed, and the forms of the secret that must never be stored."""
    kind = draw(st.sampled_from(["card", "id", "code"]))
    if kind == "card":
        digits = draw(card_numbers())
        typed = draw(st.sampled_from([digits, _grouped(digits, " "), _grouped(digits, "-")]))
    elif kind == "id":
        digits = draw(id_numbers())
        typed = draw(st.sampled_from([digits, f"{digits[:6]} {digits[6:14]} {digits[14:]}"]))
    else:
        digits = draw(codes)
        if place in CODE_OUTSTANDING:
            typed = draw(st.sampled_from([digits, f"{digits[:3]} {digits[3:]}"]))
        else:  # no code outstanding: six digits are only a code with words that say so
            typed = draw(st.sampled_from([f"验证码 {digits}", f"my code is {digits}"]))
    if draw(st.booleans()):
        typed = _full_width(typed)
    return typed, [digits, normalize(typed)]


# -- running it ------------------------------------------------------------------------------


@contextmanager
def app() -> Iterator[tuple[Bot, Callable[[Any], Any]]]:
    with tempfile.TemporaryDirectory() as tmp:
        loop = asyncio.new_event_loop()
        bot = Bot(Path(tmp))
        try:
            yield bot, loop.run_until_complete
        finally:
            bot.app.store.engine.dispose()
            loop.close()


_users = itertools.count(1)


def _assert_answered(said: Said, typed: str) -> None:
    assert said.messages, f"no answer to {typed!r}"
    assert not BROKEN & set(said.keys), f"{typed!r} broke: {said.keys}"
    assert "{{" not in said.text and "{%" not in said.text


def test_no_secret_is_ever_stored() -> None:
    with app() as (bot, run):

        @SETTINGS
        @given(
            place=st.sampled_from(sorted(PLACES)),
            command=st.sampled_from(COMMANDS),
            before=words,
            after=words,
            data=st.data(),
        )
        def check(place: str, command: str, before: str, after: str, data: st.DataObject) -> None:
            typed, forms = data.draw(secrets(place))
            client = bot.client(f"m{next(_users)}")
            run(PLACES[place](client))
            message = f"{command}{before} {typed} {after}"
            earlier = everything_stored(bot)  # other merchants' words may hold the same digits
            said = run(client.send(message))
            _assert_answered(said, message)
            stored = everything_stored(bot)
            for form in forms:
                assert stored.count(form) <= earlier.count(form), (
                    f"{form!r} stored, typed at {place}: {message!r}"
                )

        check()


def test_any_text_anywhere_is_answered() -> None:
    with app() as (bot, run):

        @SETTINGS
        @given(place=st.sampled_from(sorted(PLACES)), command=st.sampled_from(COMMANDS),
               text=anything)  # fmt: skip
        def check(place: str, command: str, text: str) -> None:
            client = bot.client(f"a{next(_users)}")
            run(PLACES[place](client))
            said = run(client.send(command + text))
            _assert_answered(said, command + text)

        check()


def test_huge_digit_runs_are_answered() -> None:
    with app() as (bot, run):

        @settings(SETTINGS, max_examples=20)
        @given(
            place=st.sampled_from(sorted(PLACES)),
            command=st.sampled_from(COMMANDS),
            digits=st.integers(4301, 12_000),
            digit=st.sampled_from("0123456789１①٣"),
            spaced=st.booleans(),
        )
        def check(place: str, command: str, digits: int, digit: str, spaced: bool) -> None:
            client = bot.client(f"h{next(_users)}")
            run(PLACES[place](client))
            text = (digit + " ") * (digits // 2) if spaced else digit * digits
            said = run(client.send(command + text))
            _assert_answered(said, (command + text)[:40])

        check()
