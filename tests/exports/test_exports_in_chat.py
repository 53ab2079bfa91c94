"""The records export on a channel that cannot carry it whole: "Export online" in the
checklist gives the merchant the CSVs split into parts, and what cannot be split (the XLSX) as a
link on posbot's HTTP app — the same effect and outbox for every channel, only the channel's
declared limit differs. The link downloads over HTTP (httpx against the app)."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import httpx
from openpyxl import load_workbook

from bot.channels.base import Channel
from bot.exports.parts import rows
from bot.http import make_http
from bot.providers.sandbox import SandboxProvider
from tests.chat import CODE, Bot

MERCHANT, SERIAL = "102100058120001", "LKL8A2301234"


class Small(Channel):
    """The tests' channel, declaring a small attachment limit."""

    name = "test"

    def __init__(self, max_bytes: int | None) -> None:
        self.max_attachment_bytes = max_bytes

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def describe(self) -> str:
        return "test"


def bot_for(tmp_path: Path, max_bytes: int | None) -> tuple[Bot, httpx.AsyncClient]:
    bot = Bot(
        tmp_path,
        secret_key_file=tmp_path / "secret_key",
        exports_dir=tmp_path / "exports",
        public_url="http://posbot.test",
    )
    http = make_http(bot.app, [Small(max_bytes)])
    transport = httpx.ASGITransport(app=http, raise_app_exceptions=False)
    return bot, httpx.AsyncClient(transport=transport, base_url="http://posbot.test")


async def export_in_chat(bot: Bot, locale: str = "zh_CN") -> tuple[list[dict[str, str]], str]:
    chat = bot.client(locale=locale)
    await chat.to_the_code_question()
    await chat.send(CODE)
    await chat.tap("next")
    said = await chat.tap("export")
    return said.attachments, said.text


async def test_parts_under_the_limit_and_the_workbook_as_a_link(tmp_path: Path) -> None:
    originals = await SandboxProvider().export_records(MERCHANT, SERIAL)
    bot, browser = bot_for(tmp_path, 300)  # the transactions (409 bytes) do not fit whole
    attachments, text = await export_in_chat(bot)
    names = [a["name"] for a in attachments]
    assert names == [
        f"{SERIAL}-daily-reports.csv",
        f"{SERIAL}-transactions-part1.csv",
        f"{SERIAL}-transactions-part2.csv",
        f"{SERIAL}-settlement-slips.csv",
    ]
    parts = [base64.b64decode(a["data"]) for a in attachments[1:3]]
    assert all(len(p) <= 300 for p in parts)
    header = next(rows(parts[0]))
    assert parts[0] + parts[1].removeprefix(header) == originals[1].data
    assert f"{SERIAL}-records.xlsx" in text and "小时内" in text
    url = re.search(r"http://posbot\.test/exports/\S+", text)
    assert url is not None
    async with browser:
        answer = await browser.get(url.group(0))
    assert answer.status_code == 200
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["daily-reports", "transactions", "settlement-slips"]
    assert len(list(book["transactions"].iter_rows())) == len(originals[1].data.splitlines())


async def test_a_channel_that_carries_no_files_gets_only_links(tmp_path: Path) -> None:
    originals = await SandboxProvider().export_records(MERCHANT, SERIAL)
    bot, browser = bot_for(tmp_path, 0)  # as WeChat: files are only ever named
    attachments, text = await export_in_chat(bot, "en")
    assert attachments == []
    assert "too big to send here" in text
    urls = re.findall(r"http://posbot\.test/exports/\S+", text)
    assert len(urls) == 4
    async with browser:
        got = [(await browser.get(url)).content for url in urls[:3]]
    assert got == [f.data for f in originals]


async def test_without_a_limit_everything_is_attached_as_it_is(tmp_path: Path) -> None:
    bot, browser = bot_for(tmp_path, None)
    async with browser:
        attachments, text = await export_in_chat(bot)
    assert len(attachments) == 4 and "/exports/" not in text
    assert not (tmp_path / "exports" / "links").exists()


async def test_over_wechat_the_export_is_links(tmp_path: Path) -> None:
    """WeChat's customer-service messages carry no files: its channel says so, and the export
    pushed to ``/wechat`` answers with links that download the provider's files."""
    from tests.wechat.chat import SETTINGS, WeChatClient

    originals = await SandboxProvider().export_records(MERCHANT, SERIAL)
    bot = Bot(tmp_path, secret_key_file=tmp_path / "secret_key", **SETTINGS)
    chat = WeChatClient(bot, "oMerchant00000000000000001", "zh_CN")
    await chat.to_the_code_question()
    await chat.send(CODE)
    await chat.tap("next")
    said = await chat.tap("export")
    assert said.keys[:1] == ["checklist.export_links"] and said.attachments == []
    urls = re.findall(r"http://127\.0\.0\.1:8080(/exports/\S+)", said.text)
    assert len(urls) == 4 and "KB" in said.text
    transport = httpx.ASGITransport(app=make_http(bot.app, []))
    async with httpx.AsyncClient(transport=transport, base_url="http://posbot.test") as browser:
        got = [(await browser.get(url)).content for url in urls[:3]]
    assert got == [f.data for f in originals]
