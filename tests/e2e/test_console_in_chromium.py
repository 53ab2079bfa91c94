"""An agent at the console in real Chromium: logs in, sees the waiting merchant live in the
inbox, opens the case card with what the bot collected, claims, replies with a canned reply
(the merchant gets it), hands back to the summary (the merchant files), closes (the merchant
rates, the inbox shows it). Screenshots go to var/screenshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.console.auth import hash_password
from bot.http import make_http
from tests.chat import Bot
from tests.e2e.browser import SCREENSHOTS, chromium, needs_chromium, served

PASSWORD = "correct horse battery"


@needs_chromium
async def test_an_agent_helps_a_merchant_in_the_console(tmp_path: Path) -> None:
    bot = Bot(tmp_path, secret_key_file=tmp_path / "secret_key")
    store = bot.app.store
    store.add_agent("alice", "admin", hash_password(PASSWORD))
    store.save_canned_reply("alice", "zh_CN", "问候", "您好，我是客服小李，我来帮您。")
    merchant = bot.client("m1")
    await merchant.to_the_code_question()
    await merchant.to_the_summary()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with served(make_http(bot.app, [])) as base, chromium() as browser:
        page: Any = await browser.new_page()  # type: ignore[attr-defined]
        await page.goto(f"{base}/console")
        await page.fill("#name", "alice")
        await page.fill("#password", PASSWORD)
        await page.click("#login-submit")
        await page.wait_for_selector("#inbox")
        await merchant.send("/agent")  # arrives while the agent looks at the inbox
        row = page.locator("#inbox-rows a")
        await row.first.wait_for(timeout=10_000)
        await page.screenshot(path=str(SCREENSHOTS / "console-inbox.png"), full_page=True)
        await row.first.click()
        card = page.locator("#case-card")
        await card.wait_for()
        text = await card.inner_text()
        assert "注销" in text and "1021*******0001" in text and "otp" in text
        await page.click("#do-claim")
        assert "held by alice" in await page.locator("#case-status").inner_text()
        assert merchant.read().keys == ["agent.joined"]
        await page.select_option("#canned", label="问候")
        await page.click("#do-reply")
        said = merchant.read()
        assert said.keys == ["agent.reply"] and said.text == "您好，我是客服小李，我来帮您。"
        await page.screenshot(path=str(SCREENSHOTS / "console-conversation.png"), full_page=True)
        await page.select_option("#handback-step", "summary")
        await page.click("#do-handback")
        assert merchant.read().keys == ["agent.handed_back", "summary"]
        assert (await merchant.tap("yes")).keys == ["submit.wait", "submit.filed", "end.done"]
        await page.reload()
        assert "SBX-2026-000100" in await page.locator("#case-requests").inner_text()
        await merchant.send("/agent")
        await page.click("#do-claim")
        assert merchant.read().keys == ["agent.joined"]
        await page.click("#do-close")
        assert merchant.read().keys == ["agent.closed", "feedback.prompt"]
        await merchant.tap("5")
        await page.click("#nav-closed")
        await page.wait_for_selector("#inbox-rows td:text('5')")
