"""The comparison: the same conversation as the simplest bot an operator might write —
aiogram 3, FSM states, MemoryStorage, Dispatcher.feed_update, and a Bot whose session answers
every API call in process (no network). It is the floor of Python overhead per message."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.base import BaseSession
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import Chat, Message, Update, User

CHECKLIST = 7  # the list, then six items one by one: as posbot's checklist


class OfflineSession(BaseSession):
    """Answers sendMessage with the Message Telegram would return; never opens a socket."""

    def __init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1)
        self.sent = 0

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        assert isinstance(method, SendMessage)
        self.sent += 1
        return Message(
            message_id=next(self._ids),
            date=datetime.now(UTC),
            chat=Chat(id=int(method.chat_id), type="private"),
            text=method.text,
        )

    async def close(self) -> None:
        return None

    async def stream_content(  # type: ignore[override]  # pragma: no cover
        self, *args: Any, **kwargs: Any
    ) -> Any:
        raise NotImplementedError("the offline session has no files")


class Deregister(StatesGroup):
    menu = State()
    merchant = State()
    serial = State()
    phone = State()
    confirm = State()
    code = State()
    checklist = State()
    reason = State()
    summary = State()


def build_router() -> Router:
    router = Router()

    @router.message(F.text == "/start")
    async def start(message: Message, state: FSMContext) -> None:
        await state.set_state(Deregister.menu)
        await message.answer("Choose: 1) deregister 2) suspend 3) status 4) agent 5) FAQ")

    @router.message(Deregister.menu)
    async def menu(message: Message, state: FSMContext) -> None:
        await state.update_data(kind="deregister")
        await state.set_state(Deregister.merchant)
        await message.answer("Merchant number?")

    @router.message(Deregister.merchant)
    async def merchant(message: Message, state: FSMContext) -> None:
        digits = re.sub(r"\D", "", message.text or "")
        if len(digits) != 15:
            await message.answer("15 digits, please")
            return
        await state.update_data(merchant=digits)
        await state.set_state(Deregister.serial)
        await message.answer("Serial?")

    @router.message(Deregister.serial)
    async def serial(message: Message, state: FSMContext) -> None:
        await state.update_data(serial=re.sub(r"[^0-9A-Za-z]", "", message.text or "").upper())
        await state.set_state(Deregister.phone)
        await message.answer("Registered phone?")

    @router.message(Deregister.phone)
    async def phone(message: Message, state: FSMContext) -> None:
        await state.update_data(phone=re.sub(r"\D", "", message.text or "")[-11:])
        await state.set_state(Deregister.confirm)
        data = await state.get_data()
        await message.answer(f"Merchant {data['merchant']}, serial {data['serial']}: right?")

    @router.message(Deregister.confirm)
    async def confirm(message: Message, state: FSMContext) -> None:
        await state.set_state(Deregister.code)
        await message.answer("Code sent to your phone; reply with it")

    @router.message(Deregister.code)
    async def code(message: Message, state: FSMContext) -> None:
        await state.update_data(done=0)
        await state.set_state(Deregister.checklist)
        await message.answer("Checklist item 1: done?")

    @router.message(Deregister.checklist)
    async def checklist(message: Message, state: FSMContext) -> None:
        done = (await state.get_data())["done"] + 1
        await state.update_data(done=done)
        if done < CHECKLIST:
            await message.answer(f"Checklist item {done + 1}: done?")
            return
        await state.set_state(Deregister.reason)
        await message.answer("Reason?")

    @router.message(Deregister.reason)
    async def reason(message: Message, state: FSMContext) -> None:
        await state.update_data(reason=message.text)
        await state.set_state(Deregister.summary)
        await message.answer("Summary... submit?")

    @router.message(Deregister.summary)
    async def summary(message: Message, state: FSMContext) -> None:
        await state.clear()
        await message.answer("Filed: ticket T-1")

    return router


class AiogramBot:
    def __init__(self) -> None:
        self.session = OfflineSession()
        self.bot = Bot("42:BENCHMARK", session=self.session)
        self.dispatcher = Dispatcher(storage=MemoryStorage())
        self.dispatcher.include_router(build_router())
        self._update_ids = itertools.count(1)

    async def send(self, user_id: int, text: str) -> None:
        user = User(id=user_id, is_bot=False, first_name="Merchant")
        message = Message(
            message_id=next(self._update_ids),
            date=datetime.now(UTC),
            chat=Chat(id=user_id, type="private"),
            from_user=user,
            text=text,
        )
        update = Update(update_id=message.message_id, message=message)
        await self.dispatcher.feed_update(self.bot, update)

    async def close(self) -> None:
        await self.bot.session.close()


async def run_aiogram(scripts: list[list[str]]) -> tuple[int, float]:
    """Every script at once, one merchant each; returns (messages, seconds)."""
    import asyncio
    import time

    bot = AiogramBot()

    async def merchant(user_id: int, lines: list[str]) -> None:
        for line in lines:
            await bot.send(user_id, line)
            await asyncio.sleep(0)

    await asyncio.gather(*(merchant(-1 - i, lines) for i, lines in enumerate(scripts[:5])))
    bot.session.sent = 0  # the warm-up does not count
    began = time.perf_counter()
    await asyncio.gather(*(merchant(1000 + i, lines) for i, lines in enumerate(scripts)))
    seconds = time.perf_counter() - began
    await bot.close()
    assert bot.session.sent == sum(len(lines) for lines in scripts), "a reply went missing"
    return sum(len(lines) for lines in scripts), seconds
