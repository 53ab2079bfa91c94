"""The fake Bot API server, driven by the real aiogram Bot over HTTP on loopback."""

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiohttp import ClientSession, web

from tests.telegram.bot_api import BotAPIServer

CHAT = 4242


class LoopbackSession(AiohttpSession):
    """aiogram's session, closed without its 250 ms grace for TLS sockets (none on loopback)."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def aiogram_bot(server: BotAPIServer, token: str | None = None) -> Bot:
    api = TelegramAPIServer.from_base(server.url)
    return Bot(token or server.token, session=LoopbackSession(api=api))


@pytest.fixture
async def bot(bot_api: BotAPIServer) -> AsyncIterator[Bot]:
    bot = aiogram_bot(bot_api)
    yield bot
    await bot.session.close()


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(text=text, callback_data=data)] for text, data in pairs]
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "posbot")


async def test_wrong_token_is_unauthorized(bot_api: BotAPIServer) -> None:
    other = aiogram_bot(bot_api, token="999:wrong")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await other.get_me()
    finally:
        await other.session.close()


async def test_unknown_method_is_not_found(bot: Bot) -> None:
    class Nonsense(TelegramMethod[bool]):
        __returning__ = bool
        __api_method__ = "doNonsense"

    with pytest.raises(TelegramNotFound, match="Not Found"):
        await bot(Nonsense())


async def test_offset_confirms_updates_forever(bot_api: BotAPIServer, bot: Bot) -> None:
    first = bot_api.send_text(CHAT, "/start")
    second = bot_api.send_text(CHAT, "hello", first_name="Li")
    assert second > first

    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [first, second]
    assert updates[0].message is not None and updates[0].message.text == "/start"
    assert updates[0].message.from_user is not None
    assert updates[0].message.from_user.language_code == "zh-hans"
    assert [u.update_id for u in await bot.get_updates()] == [first, second]  # not confirmed

    assert [u.update_id for u in await bot.get_updates(offset=second)] == [second]
    assert await bot.get_updates(offset=second + 1) == []
    assert await bot.get_updates() == []  # forgotten, not only skipped


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    bot_api: BotAPIServer, bot: Bot
) -> None:
    asyncio.get_running_loop().call_later(0.1, bot_api.send_text, CHAT, "hi")
    started = time.monotonic()
    updates = await bot.get_updates(timeout=5)
    assert len(updates) == 1 and time.monotonic() - started < 1


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert time.monotonic() - started >= 0.9


async def test_limit_and_redelivery(bot_api: BotAPIServer, bot: Bot) -> None:
    ids = [bot_api.send_text(CHAT, str(n)) for n in range(3)]
    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
    assert [u.update_id for u in await bot.get_updates(offset=ids[2] + 1)] == []
    bot_api.redeliver(ids[0])
    again = await bot.get_updates(offset=ids[2] + 1)
    assert [u.update_id for u in again] == [ids[0]]
    assert await bot.get_updates(offset=ids[2] + 1) == []


async def test_send_message_returns_a_message(bot_api: BotAPIServer, bot: Bot) -> None:
    bot_api.send_text(CHAT, "hi", first_name="Wang")
    markup = keyboard(("注销", "kind:deregister"), ("停机", "kind:suspend"))
    message = await bot.send_message(
        CHAT, "<b>选择</b> 办理类型", parse_mode="HTML", reply_markup=markup
    )

    assert message.chat.id == CHAT and message.chat.first_name == "Wang"
    assert message.from_user is not None and message.from_user.is_bot
    assert message.text == "选择 办理类型"
    assert message.reply_markup is not None
    assert message.reply_markup.model_dump() == markup.model_dump()
    assert bot_api.sent(CHAT)[0]["raw_text"] == "<b>选择</b> 办理类型"
    assert bot_api.last_keyboard(CHAT) == [("注销", "kind:deregister"), ("停机", "kind:suspend")]


async def test_bad_text_is_a_bad_request(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    await bot.send_message(CHAT, "x" * 4096)
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(CHAT, "a <b>bold", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="reserved"):
        await bot.send_message(CHAT, "Done.", parse_mode="MarkdownV2")
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(CHAT, "x", reply_markup=keyboard(("a", "d" * 65)))


async def test_reply_keyboard_asks_for_the_contact(bot_api: BotAPIServer, bot: Bot) -> None:
    button = KeyboardButton(text="分享手机号", request_contact=True)
    markup = ReplyKeyboardMarkup(keyboard=[[button]], one_time_keyboard=True)
    message = await bot.send_message(CHAT, "请分享注册手机号", reply_markup=markup)
    assert message.reply_markup is None  # Telegram echoes only inline keyboards
    assert bot_api.reply_keyboards[CHAT]["keyboard"][0][0]["request_contact"] is True

    bot_api.share_contact(CHAT, "+8613800138000")
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.contact is not None
    assert update.message.contact.user_id == CHAT

    await bot.send_message(CHAT, "谢谢", reply_markup=ReplyKeyboardRemove())
    assert bot_api.reply_keyboards[CHAT] is None


async def test_edits_apply_and_refuse_no_change(bot_api: BotAPIServer, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=CHAT, message_id=999)
    sent = await bot.send_message(CHAT, "第一步", reply_markup=keyboard(("下一步", "next")))
    edited = await bot.edit_message_text(
        text="第二步", chat_id=CHAT, message_id=sent.message_id, reply_markup=keyboard(("好", "ok"))
    )
    assert not isinstance(edited, bool) and edited.text == "第二步"
    assert bot_api.sent(CHAT)[0]["text"] == "第二步" and bot_api.sent(CHAT)[0]["edits"] == 1

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=CHAT, message_id=sent.message_id, reply_markup=keyboard(("好", "ok"))
        )
    await bot.edit_message_reply_markup(chat_id=CHAT, message_id=sent.message_id)
    assert bot_api.messages[CHAT][sent.message_id]["reply_markup"] is None


async def test_callback_query_answered_once(bot_api: BotAPIServer, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "确认?", reply_markup=keyboard(("确认", "yes")))
    bot_api.tap(CHAT, sent.message_id, "yes")
    [update] = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.data == "yes"
    assert query.message is not None and query.message.message_id == sent.message_id

    assert await bot.answer_callback_query(query.id, text="已确认")
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query(query.id)
    assert [a["text"] for a in bot_api.callback_answers] == ["已确认"]
    with pytest.raises(ValueError, match="no button"):
        bot_api.tap(CHAT, sent.message_id, "forged")


async def test_send_document_records_the_bytes(bot_api: BotAPIServer, bot: Bot) -> None:
    data = "日期,金额\n2024-05-01,100.00\n".encode()
    file = BufferedInputFile(data, filename="交易记录.csv")
    message = await bot.send_document(CHAT, file, caption="交易记录")
    assert message.document is not None and message.document.file_name == "交易记录.csv"
    assert message.caption == "交易记录"

    [record] = bot_api.sent(CHAT)
    assert record["documents"][0]["data"] == data and record["caption"] == "交易记录"
    again = await bot.send_document(CHAT, message.document.file_id)
    assert again.document is not None and again.document.file_size == len(data)


async def test_chat_action_and_commands(bot_api: BotAPIServer, bot: Bot) -> None:
    assert await bot.send_chat_action(CHAT, "typing")
    assert [a[:2] for a in bot_api.chat_actions] == [(CHAT, "typing")]

    commands = [
        BotCommand(command="start", description="开始"),
        BotCommand(command="agent", description="人工"),
    ]
    scope = BotCommandScopeAllPrivateChats()
    assert await bot.set_my_commands(commands, scope=scope, language_code="zh")
    assert bot_api.commands[("all_private_chats", "zh")][1] == {
        "command": "agent",
        "description": "人工",
    }
    got = await bot.get_my_commands(scope=scope, language_code="zh")
    assert [(c.command, c.description) for c in got] == [("start", "开始"), ("agent", "人工")]
    assert await bot.get_my_commands() == []
    assert await bot.delete_my_commands(scope=scope, language_code="zh")
    assert bot_api.commands == {}


async def test_a_burst_to_one_chat_gets_retry_after() -> None:
    async with BotAPIServer(per_chat_per_second=0.5, burst=2) as server:
        bot = aiogram_bot(server)
        try:
            await bot.send_message(CHAT, "1")
            await bot.send_message(CHAT, "2")
            with pytest.raises(TelegramRetryAfter) as caught:
                await bot.send_message(CHAT, "3")
            assert caught.value.retry_after == 2
            await bot.send_message(CHAT + 1, "another chat is not limited")
            with pytest.raises(TelegramRetryAfter):
                await bot.send_message(CHAT, "too early")
        finally:
            await bot.session.close()
    assert [(g.chat_id, g.retry_after) for g in server.retry_afters] == [(CHAT, 2), (CHAT, 2)]
    assert len(server.calls_inside_retry_after) == 1


async def test_forced_429_and_a_bot_that_waits(bot_api: BotAPIServer, bot: Bot) -> None:
    bot_api.force_429(1, retry_after=1)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(CHAT, "x")
    await asyncio.sleep(caught.value.retry_after)
    await bot.send_message(CHAT, "x")
    assert bot_api.calls_inside_retry_after == []


async def test_blocked_and_failing(bot_api: BotAPIServer, bot: Bot) -> None:
    bot_api.block(CHAT)
    with pytest.raises(TelegramForbiddenError, match="blocked by the user"):
        await bot.send_message(CHAT, "x")
    bot_api.unblock(CHAT)
    bot_api.fail_next(1, status=502)
    with pytest.raises(TelegramServerError):
        await bot.send_message(CHAT, "x")
    await bot.send_message(CHAT, "x")
    assert [c.status for c in bot_api.calls] == [403, 502, 200]


class Receiver:
    """A tiny webhook endpoint that answers with the statuses it is given, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.got: list[tuple[int, str | None]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        self.got.append(
            (update["update_id"], request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        )
        return web.json_response({}, status=self.statuses.pop(0) if self.statuses else 200)

    async def __aenter__(self) -> "Receiver":
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


async def test_webhook_delivers_with_secret_and_retries(bot_api: BotAPIServer, bot: Bot) -> None:
    async with Receiver([401, 500]) as receiver:
        assert await bot.set_webhook(receiver.url, secret_token="s3cret")
        first = bot_api.send_text(CHAT, "/start")
        second = bot_api.send_text(CHAT, "hello")
        await bot_api.wait_for(lambda s: len(receiver.got) == 4)
    assert receiver.got == [(first, "s3cret")] * 3 + [(second, "s3cret")]
    assert [d.outcome for d in bot_api.deliveries] == [401, 500, 200, 200]
    info = await bot.get_webhook_info()
    assert info.url == receiver.url and info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 500"


async def test_webhook_keeps_updates_while_the_bot_is_down(bot_api: BotAPIServer, bot: Bot) -> None:
    async with Receiver([]) as receiver:
        url = receiver.url
    assert await bot.set_webhook(url)
    bot_api.send_text(CHAT, "anyone there?")
    await bot_api.wait_for(lambda s: len(s.deliveries) >= 1)
    assert isinstance(bot_api.deliveries[0].outcome, str)
    assert (await bot.get_webhook_info()).pending_update_count == 1


async def test_get_updates_conflicts_with_a_webhook(bot_api: BotAPIServer, bot: Bot) -> None:
    assert await bot.set_webhook("http://127.0.0.1:9/hook", drop_pending_updates=True)
    with pytest.raises(TelegramConflictError):
        await bot.get_updates()
    assert await bot.delete_webhook()
    assert await bot.get_updates() == []


async def test_json_bodies_and_query_strings_as_other_clients_send_them(
    bot_api: BotAPIServer,
) -> None:
    base = f"{bot_api.url}/bot{bot_api.token}"
    markup = {"inline_keyboard": [[{"text": "好", "callback_data": "ok"}]]}
    async with ClientSession() as http:
        async with http.get(f"{base}/getMe") as resp:
            assert (await resp.json())["result"]["is_bot"] is True
        async with http.post(
            f"{base}/sendMessage", json={"chat_id": CHAT, "text": "hi", "reply_markup": markup}
        ) as resp:
            assert (await resp.json())["result"]["reply_markup"] == markup
        async with http.post(f"{base}/nope") as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert bot_api.last_keyboard(CHAT) == [("好", "ok")]


async def test_a_second_poller_ends_the_first_with_a_conflict(
    bot_api: BotAPIServer, bot: Bot
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await bot_api.wait_for(lambda s: s._poller == 1)
    assert await bot.get_updates() == []
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await first


async def test_the_bot_wide_limit_applies_across_chats() -> None:
    async with BotAPIServer(per_bot_per_second=2.0) as server:
        bot = aiogram_bot(server)
        try:
            await bot.send_message(1, "a")
            await bot.send_message(2, "b")
            with pytest.raises(TelegramRetryAfter):
                await bot.send_message(3, "c")
        finally:
            await bot.session.close()
    assert [g.chat_id for g in server.retry_afters] == [None]
