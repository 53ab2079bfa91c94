"""The comparison for the Telegram bench: the simplest bot an operator might write for the same
conversation — aiogram 3, a Dispatcher with FSM states in MemoryStorage, talking to the Bot API
server over real HTTP with aiogram's own defaults: ``Dispatcher.start_polling`` (updates handled
as tasks, the offset moved on at once), or ``SimpleRequestHandler`` on aiohttp for the webhook
(``handle_in_background=True``: the POST is answered at once, the update handled after).

It makes the Telegram calls posbot makes at each step, in the same order — the notice and the
question, the tap answered, the tapped message edited to show the choice, a reply keyboard to
share the phone and its removal — with texts of about the same length, buttons with the same
callback data, and the same validation of what is typed. What it does not do is what posbot is
for: nothing is written to disk, no provider is asked, nothing survives a restart."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import unicodedata
from collections.abc import AsyncIterator

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

SECRET = "bench-webhook-secret"
HOOK_PATH = "/tg/hook"
WELCOME = "您好！我是 POS 终端服务助手，可以帮您办理终端注销、临时停机，并随时查询办理进度。"
MENU = "请选择您要办理的业务："
INTRO = "好的，我们来办理终端注销。大约需要 5 分钟：核对信息 → 验证注册手机 → 检查清单 → 提交申请。"
ASK_MERCHANT = "请输入商户号（15 位数字，印在签购单上，也可在商户 App 中查看）："
BAD_MERCHANT = "商户号是 15 位数字，请重新输入："
ASK_SERIAL = "请输入终端机身号（SN，在机身背面或电池仓的标签上，6–32 位字母或数字）："
BAD_SERIAL = "机身号是 6–32 位字母或数字，请重新输入："
ASK_PHONE = "请输入开通终端时登记的手机号："
BAD_PHONE = "手机号是 11 位数字，请重新输入："
ASK_CODE = "我们已向注册手机发送 6 位验证码，请回复验证码："
CHECKING = "正在向服务商核实终端信息，请稍候…"
CONTACT_OK = "您分享的是本人手机号，且与登记手机一致，无需验证码 ✅"
ITEMS = {
    "backup_daily": "备份日结报表",
    "backup_transactions": "备份交易记录",
    "backup_slips": "备份结算单",
    "unbind": "解绑终端（解除与门店、结算账户的绑定）",
    "device_return": "设备回收或销毁",
    "notify": "通知财务人员、开户银行和供应商",
}
CHECKLIST = "接下来是注销前的检查清单，共 6 项：\n" + "\n".join(f"⬜ {i}" for i in ITEMS.values())
REASONS = {"switch_provider": "更换服务商", "broken_device": "设备损坏", "other": "其他原因"}
DOCUMENTS = "服务商审核时通常需要以下材料，请提前准备：\n· 法定代表人身份证\n· 营业执照\n· 终端设备"
SUBMITTING = "正在提交申请…"
FILED = "申请已提交，编号 {ticket}。\n服务商一般在 1–3 个工作日内审核，进度有变化会在这里通知您。"
END = "还有其他需要吗？发送任意消息回到主菜单。"


class Deregister(StatesGroup):
    menu = State()
    merchant = State()
    serial = State()
    phone = State()
    code = State()
    confirm = State()
    checklist = State()
    reason = State()
    summary = State()


def buttons(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(text=t, callback_data=d) for t, d in pairs[i : i + 2]]
            for i in range(0, len(pairs), 2)]  # fmt: skip
    return InlineKeyboardMarkup(inline_keyboard=rows)


def masked(value: str) -> str:
    return f"{value[:4]}{'*' * (len(value) - 8)}{value[-4:]}"


def digits(text: str) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", text))


async def show_choice(query: CallbackQuery) -> None:
    """The tapped message loses its keyboard and shows what was chosen."""
    message = query.message
    if not isinstance(message, Message) or query.bot is None:
        return
    rows = message.reply_markup.inline_keyboard if message.reply_markup else []
    labels = [b.text for row in rows for b in row if b.callback_data == query.data]
    text = f"{message.text or ''}\n\n› {labels[0] if labels else query.data}"
    await query.bot.edit_message_text(
        text=text, chat_id=message.chat.id, message_id=message.message_id
    )


def build_router(tickets: itertools.count[int]) -> Router:
    router = Router(name="plain")

    @router.message(CommandStart())
    async def start(message: Message, state: FSMContext) -> None:
        await state.set_state(Deregister.menu)
        await message.answer(WELCOME)
        menu = buttons(("注销终端", "deregister"), ("临时停机", "suspend"), ("人工客服", "agent"))
        await message.answer(MENU, reply_markup=menu)

    @router.callback_query(Deregister.menu, F.data == "deregister")
    async def deregister(query: CallbackQuery, state: FSMContext) -> None:
        await state.set_state(Deregister.merchant)
        await query.answer()
        await answer(query, INTRO)
        await show_choice(query)
        await answer(query, ASK_MERCHANT)

    @router.message(Deregister.merchant, F.text)
    async def merchant(message: Message, state: FSMContext) -> None:
        number = digits(message.text or "")
        if len(number) != 15:
            await message.answer(BAD_MERCHANT)
            return
        await state.update_data(merchant=number)
        await state.set_state(Deregister.serial)
        await message.answer(ASK_SERIAL)

    @router.message(Deregister.serial, F.text)
    async def serial(message: Message, state: FSMContext) -> None:
        sn = re.sub(r"[^0-9A-Z]", "", unicodedata.normalize("NFKC", message.text or "").upper())
        if not 6 <= len(sn) <= 32:
            await message.answer(BAD_SERIAL)
            return
        await state.update_data(serial=sn)
        await state.set_state(Deregister.phone)
        share = KeyboardButton(text="📱 分享我的手机号", request_contact=True)
        keyboard = ReplyKeyboardMarkup(
            keyboard=[[share]], resize_keyboard=True, one_time_keyboard=True
        )
        await message.answer(ASK_PHONE, reply_markup=keyboard)

    @router.message(Deregister.phone)
    async def phone(message: Message, state: FSMContext) -> None:
        contact = message.contact
        own = contact is not None and message.from_user is not None
        own = own and contact is not None and contact.user_id == message.from_user.id  # type: ignore[union-attr]
        number = digits(contact.phone_number if contact else message.text or "")[-11:]
        if len(number) != 11:
            await message.answer(BAD_PHONE)
            return
        await state.update_data(phone=number, own=own)
        await state.set_state(Deregister.confirm)
        data = await state.get_data()
        await message.answer(
            f"请核对以下信息：\n商户号：{masked(data['merchant'])}\n机身号：{masked(data['serial'])}"
            f"\n注册手机：{number[:3]}****{number[-4:]}\n无误请点“确认无误”；需要修改哪一项，点对应按钮。",
            reply_markup=buttons(
                ("确认无误", "yes@confirm_details"),
                ("修改商户号", "edit:merchant_id"),
                ("修改机身号", "edit:serial"),
                ("修改手机号", "edit:phone"),
            ),
        )

    @router.callback_query(Deregister.confirm, F.data == "yes@confirm_details")
    async def confirmed(query: CallbackQuery, state: FSMContext) -> None:
        own = (await state.get_data())["own"]
        await state.set_state(Deregister.checklist if own else Deregister.code)
        await answer(query, CHECKING, ReplyKeyboardRemove())
        await query.answer()
        await answer(query, CONTACT_OK if own else ASK_CODE)
        await show_choice(query)
        if own:
            await send_checklist(query)

    @router.message(Deregister.code, F.text)
    async def code(message: Message, state: FSMContext) -> None:
        if len(digits(message.text or "")) != 6:
            await message.answer("验证码是 6 位数字，请重新输入验证码：")
            return
        await state.set_state(Deregister.checklist)
        await message.answer("手机验证通过 ✅")
        await send_checklist(message)

    @router.callback_query(Deregister.checklist, F.data == "all@checklist")
    async def all_done(query: CallbackQuery, state: FSMContext) -> None:
        await state.set_state(Deregister.reason)
        await query.answer()
        await answer(query, "请选择注销原因：", buttons(*((t, v) for v, t in REASONS.items())))
        await show_choice(query)

    @router.callback_query(Deregister.reason, F.data.in_(REASONS))
    async def reason(query: CallbackQuery, state: FSMContext) -> None:
        await state.update_data(reason=REASONS[str(query.data)])
        await state.set_state(Deregister.summary)
        await query.answer()
        await answer(query, DOCUMENTS)
        await show_choice(query)
        data = await state.get_data()
        await answer(
            query,
            f"请确认申请内容：\n业务：注销终端\n商户号：{masked(data['merchant'])}\n"
            f"机身号：{masked(data['serial'])}\n原因：{data['reason']}\n确认后将提交给服务商。",
            buttons(("确认提交", "yes@summary"), ("修改原因", "edit:reason"), ("暂不提交", "no")),
        )

    @router.callback_query(Deregister.summary, F.data == "yes@summary")
    async def submit(query: CallbackQuery, state: FSMContext) -> None:
        await state.clear()
        await answer(query, SUBMITTING)
        await query.answer()
        await answer(query, FILED.format(ticket=f"PLN-2026-{next(tickets):06d}"))
        await show_choice(query)
        await answer(query, END)

    @router.callback_query()
    async def stale(query: CallbackQuery) -> None:
        await query.answer("这个按钮已经过期了")

    @router.message()
    async def other(message: Message) -> None:
        await message.answer("请按提示回复，或发送 /start 重新开始。")

    return router


async def answer(
    query: CallbackQuery,
    text: str,
    markup: InlineKeyboardMarkup | ReplyKeyboardRemove | None = None,
) -> None:
    assert query.message is not None and query.bot is not None
    await query.bot.send_message(query.message.chat.id, text, reply_markup=markup)


async def send_checklist(event: CallbackQuery | Message) -> None:
    ticks = [(f"⬜ {label}", f"tick:{item}@checklist") for item, label in ITEMS.items()]
    markup = buttons(*ticks, ("全部已做好", "all@checklist"), ("继续", "next@checklist"))
    if isinstance(event, Message):
        await event.answer(CHECKLIST, reply_markup=markup)
    else:
        await answer(event, CHECKLIST, markup)


def plain_bot(url: str, token: str) -> tuple[Bot, Dispatcher]:
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(url)))
    dispatcher = Dispatcher(storage=MemoryStorage())
    dispatcher.include_router(build_router(itertools.count(1)))
    return bot, dispatcher


@contextlib.asynccontextmanager
async def running_plain(url: str, token: str, mode: str) -> AsyncIterator[None]:
    """The plain bot, polling or behind its webhook, for as long as the block runs."""
    bot, dispatcher = plain_bot(url, token)
    if mode == "polling":
        polling = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, close_bot_session=True)
        )
        try:
            yield
        finally:
            await dispatcher.stop_polling()
            await polling
        return
    http = web.Application()
    SimpleRequestHandler(dispatcher=dispatcher, bot=bot, secret_token=SECRET).register(
        http, path=HOOK_PATH
    )
    setup_application(http, dispatcher, bot=bot)  # closes the bot's session at the end
    runner = web.AppRunner(http)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    await bot.set_webhook(
        f"http://127.0.0.1:{port}{HOOK_PATH}",
        secret_token=SECRET,
        allowed_updates=dispatcher.resolve_used_update_types(),
    )
    try:
        yield
    finally:
        await runner.cleanup()
