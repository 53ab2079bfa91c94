"""The whole product in real headless Chromium, two browsers against one served posbot: a
merchant in the web chat (page ``/``) runs the 注销 conversation to the one-time-code step and
asks for a person; an agent at the console (``/console``) sees it arrive live, opens the case
card (the data masked), claims, answers with a canned reply, hands back to the summary and
closes; the merchant sees each of these live, files, gets a ticket and rates the help, and the
rating shows in the console. And the web chat on a phone-sized screen. Screenshots go to
var/screenshots (not committed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot.channels.webchat.channel import WebChatChannel
from bot.console.auth import hash_password
from bot.http import make_http
from tests.chat import CODE, Bot
from tests.e2e.browser import SCREENSHOTS, chromium, needs_chromium, served

PASSWORD = "correct horse battery"
SECRET = "a-test-secret-key-of-some-length"
CANNED = "您好，我是客服小李，我来帮您核对。"
WAIT = 10_000  # ms: live pushes come within a second or two


class Merchant:
    """The web chat page, driven by what a merchant sees and taps."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def reply(self, key: str) -> Any:
        """The latest reply carrying message key ``key``."""
        return self.page.locator(f'#messages [data-testid="reply"][data-keys~="{key}"]').last

    async def sees(self, key: str) -> str:
        found = self.reply(key)
        await found.wait_for(timeout=WAIT)
        return str(await found.inner_text())

    async def tap(self, value: str) -> None:
        """Tap the live button whose value is ``value`` (on the wire ``value@step``)."""
        live = self.page.locator(
            f'[data-testid="option"]:not([disabled])[data-value="{value}"], '
            f'[data-testid="option"]:not([disabled])[data-value^="{value}@"]'
        )
        await live.first.click()

    async def type(self, text: str) -> None:
        await self.page.fill("#input", text)
        await self.page.click("#send")


@needs_chromium
async def test_a_merchant_in_the_web_chat_is_helped_by_an_agent_in_the_console(
    tmp_path: Path,
) -> None:
    bot = Bot(tmp_path, secret_key=SECRET)
    store = bot.app.store
    store.add_agent("alice", "admin", hash_password(PASSWORD))
    store.save_canned_reply("alice", "zh_CN", "核对", CANNED)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    http = make_http(bot.app, [WebChatChannel(bot.app)])
    async with served(http) as base, chromium() as browser:
        shop: Any = await browser.new_context(locale="zh-CN")  # type: ignore[attr-defined]
        desk: Any = await browser.new_context(locale="en-US")  # type: ignore[attr-defined]
        merchant = Merchant(await shop.new_page())
        agent: Any = await desk.new_page()
        errors: list[str] = []  # what either page's console reports (a 404, a CSP refusal)
        for page in (merchant.page, agent):
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        # the merchant: the menu, 注销, the details, confirmed — the code is sent
        await merchant.page.goto(f"{base}/")
        await merchant.sees("menu.prompt")
        await merchant.tap("deregister")
        await merchant.sees("ask.merchant_id")
        for answer in ("102100058120001", "LKL8A2301234", "13800138000"):
            await merchant.type(answer)
        await merchant.sees("confirm.details")
        await merchant.tap("yes")
        await merchant.sees("ask.code")

        # the agent logs in and watches the inbox
        await agent.goto(f"{base}/console")
        await agent.fill("#name", "alice")
        await agent.fill("#password", PASSWORD)
        await agent.click("#login-submit")
        await agent.wait_for_selector("#inbox")

        # the merchant asks for a person and hears their place in the queue
        await merchant.type("人工")
        queued = await merchant.sees("handoff.queue")
        assert "0" in queued and "/cancel" in queued

        # ... and shows up in the inbox without a reload
        row = agent.locator("#inbox-rows a[href^='/console/c/']")
        await row.first.wait_for(timeout=WAIT)
        assert "web" in await row.first.inner_text()
        await agent.screenshot(path=str(SCREENSHOTS / "e2e-console-inbox.png"), full_page=True)
        await row.first.click()
        card = agent.locator("#case-card")
        await card.wait_for()
        text = await card.inner_text()
        assert "注销" in text
        assert "1021*******0001" in text and "138****8000" in text  # masked
        assert "102100058120001" not in text and "13800138000" not in text

        # claimed: the merchant is told who helps, live
        await agent.click("#do-claim")
        assert "held by alice" in await agent.locator("#case-status").inner_text()
        assert "alice" in await merchant.sees("agent.joined")

        # a canned reply, marked on the merchant's page as from a person
        await agent.select_option("#canned", label="核对")
        assert await agent.input_value("#reply-text") == CANNED
        await agent.click("#do-reply")
        answer = merchant.page.locator("#messages li.by-person").last
        await answer.wait_for(timeout=WAIT)
        assert CANNED in await answer.inner_text()
        await merchant.page.screenshot(path=str(SCREENSHOTS / "e2e-webchat.png"), full_page=True)
        transcript = agent.locator("#transcript")
        await transcript.get_by_text(CANNED).first.wait_for(timeout=WAIT)
        await agent.screenshot(
            path=str(SCREENSHOTS / "e2e-console-conversation.png"), full_page=True
        )

        # the summary cannot be shown yet (no reason given): the agent is told, the merchant
        # hears nothing; handed back at the code question, the bot resumes with what it has
        await agent.select_option("#handback-step", "summary")
        await agent.click("#do-handback")
        assert "reason" in await agent.locator("#error").inner_text()
        await agent.select_option("#handback-step", "code")
        await agent.click("#do-handback")
        await merchant.sees("agent.handed_back")
        await merchant.type(CODE)
        await merchant.sees("checklist.intro")
        await merchant.tap("all")
        await merchant.sees("reason.prompt")
        await merchant.tap("other")
        assert "1021*******0001" in await merchant.sees("summary")
        await merchant.tap("yes")
        filed = await merchant.sees("submit.filed")
        ticket = re.search(r"SBX-\d{4}-\d{6}", filed)
        assert ticket is not None, filed
        await agent.reload()
        assert ticket.group(0) in await agent.locator("#case-requests").inner_text()

        # a person again, closed: the merchant rates by a button, the console shows it
        await merchant.type("/agent")
        await merchant.sees("handoff.queue")
        await agent.reload()
        await agent.click("#do-claim")
        await merchant.sees("agent.joined")
        await agent.click("#do-close")
        await merchant.sees("feedback.prompt")
        await merchant.tap("4")
        await merchant.sees("feedback.thanks")
        await agent.click("#nav-closed")
        rated = agent.locator("#inbox-rows tr", has_text="web").first
        await rated.locator("td", has_text=re.compile(r"^4$")).wait_for(timeout=WAIT)
        await merchant.page.screenshot(
            path=str(SCREENSHOTS / "e2e-webchat-rated.png"), full_page=True
        )
        assert errors == []


@needs_chromium
async def test_the_web_chat_on_a_phone_sized_screen(tmp_path: Path) -> None:
    bot = Bot(tmp_path, secret_key=SECRET)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    http = make_http(bot.app, [WebChatChannel(bot.app)])
    async with served(http) as base, chromium() as browser:
        phone: Any = await browser.new_context(  # type: ignore[attr-defined]
            locale="zh-CN",
            viewport={"width": 360, "height": 640},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
        )
        merchant = Merchant(await phone.new_page())
        await merchant.page.goto(f"{base}/")
        await merchant.sees("menu.prompt")
        options = merchant.page.locator('[data-testid="option"]:not([disabled])')
        assert await options.count() >= 4
        for n in range(await options.count()):
            box = await options.nth(n).bounding_box()
            assert box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= 360, box  # on the screen
            assert box["height"] >= 36, box  # big enough for a thumb
        for hook in ("#input", "#send", "#lang-switch"):
            box = await merchant.page.locator(hook).bounding_box()
            assert box is not None and box["x"] + box["width"] <= 360, (hook, box)
            assert box["y"] + box["height"] <= 640, (hook, box)  # in view, not scrolled away
        subtitle = await merchant.page.locator(".bar .sub").bounding_box()
        switch = await merchant.page.locator("#lang-switch").bounding_box()
        assert subtitle is not None and switch is not None
        assert subtitle["x"] + subtitle["width"] <= switch["x"], (subtitle, switch)  # no overlap
        await merchant.tap("deregister")  # a tap works like a click
        await merchant.sees("ask.merchant_id")
        await merchant.type("102100058120001")
        await merchant.sees("ask.serial")
        widths = await merchant.page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], widths  # no sideways scrolling
        await merchant.page.screenshot(path=str(SCREENSHOTS / "e2e-webchat-phone.png"))
