"""Conversation tests as data: every tests/conversations/*.yaml runs in every language it names.

A file has ``turns``; each turn does one thing — ``say`` (text, or one text per language),
``tap`` (a button's value), ``share`` (a contact: ``{phone, own}``), ``replay`` (the last event
again, same dedup key), ``wait`` (seconds pass at the provider, status is polled), ``restart``
(a new app on the same database), or ``include`` (the turns of a fragment in _fragments.yaml;
checks beside it apply to its last turn) — and then checks what the bot said:
``keys`` (exactly the locale messages said, in order), ``buttons`` (the values of the last
buttons), ``in_place`` (whether every reply replaces the tapped message), ``contains`` /
``absent`` (substrings of the text, plain or per language).
``after`` checks the store when the conversation is over: ``requests`` (how many filed),
``transcript_absent`` (substrings never stored)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chat import Bot, Client, Said
from tests.wechat.chat import SETTINGS as WECHAT
from tests.wechat.chat import WeChatClient

HERE = Path(__file__).parent / "conversations"
LANGS = ("zh_CN", "en")


@functools.cache
def read(path: Path) -> Any:
    """A conversation file, parsed once (by libyaml when PyYAML has it)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)


FRAGMENTS: dict[str, list[dict[str, Any]]] = read(HERE / "_fragments.yaml")


def _cases() -> list[Any]:
    cases = []
    for path in sorted(HERE.glob("[!_]*.yaml")):
        spec = read(path)
        for lang in spec.get("langs", LANGS):
            cases.append(pytest.param(path, lang, id=f"{path.stem}-{lang}"))
    return cases


# about inline buttons, which WeChat does not have: a message edited in place when tapped, a
# button of an earlier message tapped (on WeChat an option is a number or words typed)
# and the export, which WeChat gets as links, not files (tests/exports/test_exports_in_chat.py)
NOT_ON_WECHAT = frozenset(
    {"checklist_ticks", "stale_button_at_question", "stale_buttons", "export_online"}
)


def _wechat_cases() -> list[Any]:
    """The same files over WeChat, except those that share a contact (WeChat cannot) or are
    about inline buttons."""
    return [
        case
        for case in _cases()
        if case.values[0].stem not in NOT_ON_WECHAT
        and not any("share" in turn for turn in _expand(read(case.values[0])["turns"]))
    ]


def _for(value: Any, lang: str) -> Any:
    """A value given once for all languages, or per language."""
    if isinstance(value, dict) and set(value) <= set(LANGS):
        return value.get(lang)
    return value


def _expand(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for turn in turns:
        if "include" in turn:
            included = _expand(FRAGMENTS[turn["include"]])
            checks = {k: v for k, v in turn.items() if k != "include"}
            if checks:  # checks beside an include apply to its last turn
                included[-1] = {**included[-1], **checks}
            out.extend(included)
        else:
            out.append(turn)
    return out


async def _act(bot: Bot, client: Client, turn: dict[str, Any], lang: str) -> Said:
    if "say" in turn:
        return await client.send(str(_for(turn["say"], lang)))
    if "tap" in turn:
        return await client.tap(str(turn["tap"]))
    if "share" in turn:  # a shared contact: {phone: ..., own: true|false}
        share = turn["share"]
        return await client.share_contact(str(share["phone"]), own=bool(share["own"]))
    if "replay" in turn:
        return await client.replay()
    if "wait" in turn:
        return await client.wait(float(turn["wait"]))
    if "restart" in turn:
        bot.restart()
        return Said()
    raise AssertionError(f"unknown turn {turn}")


def _check(said: Said, turn: dict[str, Any], lang: str, where: str) -> None:
    if "keys" in turn:
        assert said.keys == turn["keys"], f"{where}: said {said.keys}\n{said.text}"
    if "buttons" in turn:
        values = [value.split("@")[0] for _, value in said.buttons]  # "yes@summary" → "yes"
        assert values == turn["buttons"], f"{where}: buttons {values}"
    for text in _for(turn.get("contains", []), lang) or []:
        assert str(text) in said.text, f"{where}: {text!r} not in\n{said.text}"
    for text in _for(turn.get("absent", []), lang) or []:
        assert str(text) not in said.text, f"{where}: {text!r} in\n{said.text}"
    if "attachments" in turn:
        assert len(said.attachments) == turn["attachments"], f"{where}: attachments"
    if "in_place" in turn:  # the reply replaces the tapped message (where the platform can)
        in_place = [bool(m.get("in_place")) for m in said.messages]
        assert in_place == [turn["in_place"]] * len(in_place), f"{where}: in place {in_place}"


@pytest.mark.parametrize(("path", "lang"), _cases())
async def test_conversation(path: Path, lang: str, tmp_path: Path) -> None:
    spec = read(path)
    bot = Bot(tmp_path, review_seconds=spec.get("review_seconds", 10.0))
    await _converse(path, spec, bot, bot.client(locale=lang), lang, "test")


@pytest.mark.parametrize(("path", "lang"), _wechat_cases())
async def test_conversation_over_wechat(path: Path, lang: str, tmp_path: Path) -> None:
    """Each turn pushed to ``/wechat`` as WeChat does; a tap is its option's number typed."""
    spec = read(path)
    review = spec.get("review_seconds", 10.0)
    bot = Bot(tmp_path, review_seconds=review, default_locale=lang, **WECHAT)
    client = WeChatClient(bot, "oMerchant00000000000000001", lang)
    await _converse(path, spec, bot, client, lang, "wechat")


async def _converse(
    path: Path, spec: dict[str, Any], bot: Bot, client: Client, lang: str, channel: str
) -> None:
    for number, turn in enumerate(_expand(spec["turns"]), 1):
        where = f"{path.name} turn {number} {turn}"
        said = await _act(bot, client, turn, lang)
        _check(said, turn, lang, where)
        assert "{{" not in said.text and "{%" not in said.text, where
    after = spec.get("after", {})
    if "requests" in after:
        assert len(bot.app.store.requests()) == after["requests"]
    transcript = "\n".join(text for _, text in bot.app.store.transcript(channel, client.user))
    for text in after.get("transcript_absent", []):
        assert str(text) not in transcript, f"{text!r} was stored"
