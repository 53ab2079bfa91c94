"""The merchants of the Telegram bench: each one a closed loop on the fake Bot API server — it
writes or taps, waits for the bot's answer, reads it as a person would and does what it asks.

A message with inline buttons gets a tap ("all done" first, then yes / done / next / the first
sensible option, never one already tapped on that message); a "share my phone" keyboard gets the
merchant's own contact; a question for the merchant number, the serial, the phone or a code gets
it typed (``typed_details``); a ticket number ends the conversation. A warning (⚠️) right after
the shared contact means the bot did not take it: the merchant types the number instead, as a
person would (counted: ``Tally.contact_refused``). Anything else (a notice, a tapped message
edited to show the choice) is not an answer yet: the merchant keeps waiting. The bot does not
know it is a bench: the same script drives posbot and the plain aiogram bot."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.posbot_load import typed_details
from bot.providers.base import Terminal

if TYPE_CHECKING:
    from bench.telegram_api import TimedServer

TICKET = re.compile(r"\b([A-Z]{2,5}-\d{4}-\d{4,})\b")
PREFERRED = ("all", "deregister", "yes", "done", "next", "acknowledge", "switch_provider")
NOT_WANTED = frozenset(
    {"agent", "cancel", "no", "back", "status", "faq", "suspend", "edit", "menu", "skip"}
    | {"how", "export", "settle_first", "not_now", "resend", "fix"}
)
# a question without buttons: it asks to type or reply (zh_CN, en), and what for, by the word
# it names (code first: its prompt names the phone too); a notice naming them asks nothing
ASKING = (("输入", "回复"), ("enter", "reply", "type"))
ASKED = (
    ("code", "验证码", "code"),
    ("serial", "机身号", "serial"),
    ("merchant_id", "商户号", "merchant number"),
    ("phone", "手机号", "phone"),
)
MAX_ACTIONS = 40  # a merchant who needs more than this is going round in circles
STALLED = 30.0  # seconds without a call from the bot while we wait: our answer is lost


class Lost(Exception):
    """The conversation did not reach a ticket."""


@dataclass(frozen=True, slots=True)
class Move:
    kind: str  # "text", "tap", "contact" or "done"
    value: str = ""
    message_id: int = 0


@dataclass
class Tally:
    """What the merchants of one phase saw (times are the server's loop time)."""

    updates: int = 0
    latencies: list[float] = field(default_factory=list)  # available to the bot → its answer
    from_action: list[float] = field(default_factory=list)  # the merchant's action → answer
    tickets: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    contact_refused: int = 0  # shared contacts answered with a warning (then typed)


def untagged(data: str) -> str:
    """A button's value without the step it was sent for (``yes@summary`` → ``yes``)."""
    return data.split("@", 1)[0]


def pick(buttons: list[str], tried: set[str]) -> str | None:
    """The callback data a merchant finishing the deregistration would tap."""
    fresh = [data for data in buttons if data not in tried]
    for wanted in PREFERRED:
        for data in fresh:
            if untagged(data) == wanted:
                return data
    for data in fresh:
        if untagged(data).split(":", 1)[0] not in NOT_WANTED:
            return data
    return None


def next_move(
    record: dict[str, Any], answers: dict[str, str], tapped: set[tuple[int, str]], last: Move
) -> Move | None:
    """What to do about one message of the bot's (as it stands now) after our ``last`` move,
    never tapping a button twice on one message (``tapped``); None: nothing yet."""
    text = record.get("text") or record.get("caption") or ""
    ticket = TICKET.search(text)
    if ticket:
        return Move("done", ticket.group(1))
    if last.kind == "contact" and text.startswith("⚠️"):
        return Move("text", answers["phone"])
    markup = record.get("reply_markup") or {}
    inline = [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]
    inline = [data for data in inline if data]
    if inline:
        data = pick(inline, {d for m, d in tapped if m == record["message_id"]})
        return None if data is None else Move("tap", data, record["message_id"])
    if record.get("edits"):  # a tapped message showing the choice: it asks nothing new
        return None
    keys = [b for row in markup.get("keyboard", []) for b in row if isinstance(b, dict)]
    if any(b.get("request_contact") for b in keys):
        return Move("contact")
    lowered = text.lower()
    zh = any(word in text for word in ASKING[0])
    en = any(word in lowered for word in ASKING[1])
    for slot, zh_word, en_word in ASKED:
        if (zh and zh_word in text) or (en and en_word in lowered):
            return Move("text", answers[slot])
    return None


class Merchant:
    """One merchant's whole conversation, from /start to the ticket."""

    def __init__(self, server: TimedServer, user_id: int, terminal: Terminal) -> None:
        self.server, self.user_id, self.terminal = server, user_id, terminal
        self.answers = typed_details(terminal)
        self.inbox = server.inbox(user_id)
        self.tapped: set[tuple[int, str]] = set()  # (message_id, callback data)
        self.handled: set[tuple[int, int]] = set()  # (message_id, edits) already read

    async def converse(self, tally: Tally) -> None:
        try:
            tally.tickets.append(await self._conversation(tally))
        except Lost as exc:
            tally.failures.append(f"merchant {self.user_id}: {exc}")

    async def _conversation(self, tally: Tally) -> str:
        move = Move("text", "/start")
        update_id, acted = self._act(move), self.server.clock()
        tally.updates += 1
        said: list[str] = []
        for _ in range(MAX_ACTIONS):
            last = move
            move, arrived = await self._answer(said, last)
            if last.kind == "contact" and move.kind == "text":
                tally.contact_refused += 1
            available = self.server.available.get(update_id, acted)
            tally.latencies.append(arrived - available)
            tally.from_action.append(arrived - acted)
            if move.kind == "done":
                return move.value
            update_id, acted = self._act(move), self.server.clock()
            tally.updates += 1
        raise Lost(f"no ticket after {MAX_ACTIONS} actions; last said: {said[-3:]}")

    async def _answer(self, said: list[str], last: Move) -> tuple[Move, float]:
        """Wait for the bot's message that asks something of us (or gives the ticket)."""
        while True:
            try:
                async with asyncio.timeout(STALLED / 3):
                    arrived, message_id = await self.inbox.get()
            except TimeoutError:
                if self.server.clock() - self.server.last_call > STALLED:
                    raise Lost(f"no answer, the bot idle; last said: {said[-3:]}") from None
                continue
            record = self.server.messages[self.user_id][message_id]
            seen = (message_id, record["edits"])
            if seen in self.handled:
                continue
            self.handled.add(seen)
            said.append((record.get("text") or "")[:60])
            move = next_move(record, self.answers, self.tapped, last)
            if move is not None:
                return move, arrived

    def _act(self, move: Move) -> int:
        server, user = self.server, self.user_id
        if move.kind == "tap":
            self.tapped.add((move.message_id, move.value))
            return server.tap(user, move.message_id, move.value)
        if move.kind == "contact":  # as Telegram sends it: no plus, the sender's own
            return server.share_contact(user, self.terminal.registered_phone.lstrip("+"))
        return server.send_text(user, move.value)
