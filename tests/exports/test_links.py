"""A kept export downloaded through its signed, expiring link, over HTTP (httpx against the
ASGI app): the exact bytes with a good link; 403 for a forged one, 410 once it has expired or
the file is gone — a plain sentence in the browser's language, never a traceback; no link can
reach a file outside the folder."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from bot.exports.links import ExportLinks
from bot.exports.route import mount_export_links
from bot.i18n import Catalog
from bot.providers.base import ExportedFile
from bot.settings import PROJECT

KEY = b"k" * 32
TTL = 3600
DATA = bytes(range(256)) * 1000  # every byte value: nothing is decoded or re-encoded


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def links(tmp_path: Path, clock: Clock) -> ExportLinks:
    return ExportLinks(KEY, tmp_path / "links", "https://pos.example/", TTL, clock=clock)


@pytest.fixture
async def browser(links: ExportLinks) -> AsyncIterator[httpx.AsyncClient]:
    http = FastAPI()
    mount_export_links(http, links, Catalog.load(PROJECT / "locales"), "zh_CN")
    transport = httpx.ASGITransport(app=http, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://pos.example") as client:
        yield client


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_the_link_downloads_the_exact_bytes(
    links: ExportLinks, browser: httpx.AsyncClient
) -> None:
    link = links.keep(ExportedFile("LKL8A2301234-交易记录.xlsx", "application/x", DATA))
    assert link.url.startswith("https://pos.example/exports/")
    assert (link.size, link.expires) == (len(DATA), 1_800_000_000 + TTL)
    answer = await browser.get(path_of(link.url))
    assert answer.status_code == 200
    assert answer.content == DATA
    assert "filename*=UTF-8''LKL8A2301234-%E4%BA%A4" in answer.headers["content-disposition"]
    assert answer.headers["x-content-type-options"] == "nosniff"


async def test_any_change_to_the_link_is_refused(
    links: ExportLinks, browser: httpx.AsyncClient
) -> None:
    link = links.keep(ExportedFile("records.csv", "text/csv", b"a,b\n1,2\n"))
    good = urlsplit(link.url)
    query = {k: v[0] for k, v in parse_qs(good.query).items()}
    file_id = good.path.split("/")[2]
    flipped = query["sig"][:-1] + ("0" if query["sig"][-1] != "0" else "1")
    tampered = [
        f"{good.path}?expires={query['expires']}&sig={flipped}",  # another signature
        f"{good.path}?expires={int(query['expires']) + 86400}&sig={query['sig']}",  # longer
        f"/exports/{file_id}/other.csv?{good.query}",  # another name
        f"/exports/{'0' * 64}/records.csv?{good.query}",  # another file
        f"{good.path}",  # no signature at all
        f"{good.path}?expires=soon&sig={query['sig']}",
    ]
    for path in tampered:
        answer = await browser.get(path, headers={"Accept-Language": "en"})
        assert answer.status_code == 403, path
        assert answer.text == (
            "This download link is not valid. Please go back to the chat and tap "
            '"Export online" for a new one.\n'
        )


async def test_an_expired_link_is_gone(
    links: ExportLinks, browser: httpx.AsyncClient, clock: Clock
) -> None:
    link = links.keep(ExportedFile("records.csv", "text/csv", b"a,b\n1,2\n"))
    clock.now += TTL  # the last second it is valid
    assert (await browser.get(path_of(link.url))).status_code == 200
    clock.now += 1
    answer = await browser.get(path_of(link.url), headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert answer.status_code == 410
    assert "已过期" in answer.text and "Traceback" not in answer.text


async def test_files_no_link_can_name_are_removed(
    links: ExportLinks, browser: httpx.AsyncClient, clock: Clock, tmp_path: Path
) -> None:
    old = links.keep(ExportedFile("old.csv", "text/csv", b"old\n"))
    old_file = next((tmp_path / "links").iterdir())
    os.utime(old_file, (clock.now, clock.now))
    clock.now += TTL + 61
    links.keep(ExportedFile("new.csv", "text/csv", b"new\n"))
    assert not old_file.exists()
    assert len(list((tmp_path / "links").iterdir())) == 1
    assert (await browser.get(path_of(old.url))).status_code == 410


async def test_a_removed_file_is_gone_not_an_error(
    links: ExportLinks, browser: httpx.AsyncClient, tmp_path: Path
) -> None:
    link = links.keep(ExportedFile("records.csv", "text/csv", b"a\n"))
    for path in (tmp_path / "links").iterdir():
        path.unlink()
    answer = await browser.get(path_of(link.url))
    assert answer.status_code == 410 and "不再保存" in answer.text


async def test_no_link_reaches_outside_the_folder(
    links: ExportLinks, browser: httpx.AsyncClient, tmp_path: Path
) -> None:
    (tmp_path / "secret.txt").write_text("not yours")
    link = links.keep(ExportedFile("records.csv", "text/csv", b"a\n"))
    query = urlsplit(link.url).query
    for path in (
        f"/exports/..%2Fsecret.txt/records.csv?{query}",
        f"/exports/../secret.txt?{query}",
        f"/exports/%2E%2E/secret.txt?{query}",
        f"/exports/..%2F..%2F..%2Fetc%2Fpasswd/x?{query}",
        f"/exports/{'a' * 63}%00/x?{query}",
    ):
        answer = await browser.get(path)
        assert answer.status_code in (403, 404), path
        assert "not yours" not in answer.text
    # a file id is checked before the disk is touched, signature or not
    assert links.check("../secret.txt", "records.csv", "9999999999", "x")[0] == "forged"
