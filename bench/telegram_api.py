"""The Telegram side of the Telegram bench, in a process of its own: the fake Bot API server of
the tests (``tests/telegram``) on 127.0.0.1, and the merchants (``telegram_merchants``) who talk
through it to the bot under test. A process of its own so that neither the server's work nor the
merchants' is counted against the bot, which has the benchmark's process to itself.

    python -m bench.telegram_api --merchants N --warm W --start S [--per-chat R --burst B
        --per-bot R]

prints ``{"url", "token"}``; once it reads a line ("go": the bot is up), W merchants go through
the conversation to warm the bot up, then N at once; prints ``{"result": ...}``; exits at the
next line or end of input. Times are this process's loop time: an update is *available* when it
is queued for getUpdates, or when its webhook POST starts; an answer *arrives* when its
sendMessage (or edit) reaches the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from typing import Any, cast

from bench.telegram_merchants import Merchant, Tally
from bot.providers.sandbox import SandboxProvider
from tests.telegram.bot_api import BotAPIServer, Queued
from tests.telegram.webhook import WebhookDelivery

TOKEN = "777000:BENCH-telegram-token"
SHOWN = frozenset({"sendmessage", "senddocument", "editmessagetext", "editmessagereplymarkup"})
WARM_USERS, USERS = 9_000_000, 10_000_000  # chat ids: warm-up merchants, measured ones
QUIET = 0.3  # seconds without a bot call: the bot has said all it will (after the last ticket)


class TimedServer(BotAPIServer):
    """The fake Bot API server, timing each update from available to answered, and handing
    every message the bot sends or edits to the merchant of that chat."""

    def __init__(self, **limits: Any) -> None:
        super().__init__(TOKEN, **limits)
        self.available: dict[int, float] = {}  # update_id → when the bot could first have it
        self.last_call = 0.0
        self._inboxes: dict[int, asyncio.Queue[tuple[float, int]]] = {}

    def inbox(self, chat_id: int) -> asyncio.Queue[tuple[float, int]]:
        """(arrival time, message_id) of every message sent or edited in the chat."""
        return self._inboxes.setdefault(chat_id, asyncio.Queue())

    def push(self, raw_update: dict[str, Any]) -> int:
        update_id = super().push(raw_update)
        if self.webhook is None:  # polling: available as soon as it is queued
            self.available[update_id] = self.clock()
        return update_id

    async def call(self, method: str, raw: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        arrived = self.clock()
        status, body = await super().call(method, raw)
        name = method.lower()
        if name != "getupdates":
            self.last_call = self.clock()
        result = body.get("result")
        if status == 200 and name in SHOWN and isinstance(result, dict):
            inbox = self._inboxes.get(int(result["chat"]["id"]))
            if inbox is not None:
                inbox.put_nowait((arrived, int(result["message_id"])))
        return status, body

    def start_webhook_delivery(self) -> None:
        assert self._http is not None, "start() the server first"
        self._delivery = TimedDelivery(self, self._http)
        self._delivery.start()


class TimedDelivery(WebhookDelivery):
    """Webhook delivery that notes when each update's first POST starts."""

    async def _deliver(self, key: int | None, item: Queued) -> None:
        server = cast(TimedServer, self.server)
        server.available.setdefault(int(item.update["update_id"]), server.clock())
        await super()._deliver(key, item)


async def next_line() -> str:
    return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


def say(obj: dict[str, Any]) -> None:
    """One line to the bench's process; when it is gone (a broken pipe) there is nobody to
    serve: this process ends at once, without a traceback about a pipe."""
    try:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        os._exit(1)


def bot_cpu_seconds() -> float:
    """CPU seconds the bot's process (our parent) has used so far (0 where /proc is not)."""
    try:
        with open(f"/proc/{os.getppid()}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def converse(
    server: TimedServer, merchants: list[Merchant]
) -> tuple[Tally, float, dict[str, float]]:
    """Every merchant at once; (tally, wall seconds, share of a core used by this process
    and by the bot's)."""
    tally = Tally()
    cpu, bot, began = time.process_time(), bot_cpu_seconds(), server.clock()
    await asyncio.gather(*(m.converse(tally) for m in merchants))
    seconds = server.clock() - began
    used = {"server": time.process_time() - cpu, "bot": bot_cpu_seconds() - bot}
    return tally, seconds, {k: v / seconds if seconds else 0.0 for k, v in used.items()}


async def quiet(server: TimedServer, most: float = 10.0) -> None:
    """Until the bot has made no call for ``QUIET`` seconds (``most`` at most)."""
    deadline = server.clock() + most
    while server.clock() - server.last_call < QUIET and server.clock() < deadline:
        await asyncio.sleep(QUIET / 3)


async def main(args: argparse.Namespace) -> None:
    limits = {
        "per_chat_per_second": args.per_chat,
        "burst": args.burst,
        "per_bot_per_second": args.per_bot,
    }
    terminals = SandboxProvider().generate_terminals(args.warm + args.merchants, start=args.start)
    async with TimedServer(**limits) as server:
        say({"url": server.url, "token": server.token})
        await next_line()
        server.last_call = server.clock()  # the bot is up: the stall watch starts here
        warm_up = [
            Merchant(server, WARM_USERS + i, t) for i, t in enumerate(terminals[: args.warm])
        ]
        warm, _, _ = await converse(server, warm_up)
        measured = [Merchant(server, USERS + i, t) for i, t in enumerate(terminals[args.warm :])]
        tally, seconds, cpu = await converse(server, measured)
        await quiet(server)
        calls = Counter(call.method for call in server.calls)
        refused = Counter(str(d.outcome) for d in server.deliveries if d.outcome != 200)
        say(
            {
                "result": {
                    "updates": tally.updates,
                    "seconds": seconds,
                    "latencies": tally.latencies,
                    "from_action": tally.from_action,
                    "tickets": tally.tickets,
                    "warm_tickets": warm.tickets,
                    "failures": warm.failures + tally.failures,
                    "contact_refused": warm.contact_refused + tally.contact_refused,
                    "server_cpu": cpu["server"],
                    "bot_cpu": cpu["bot"],
                    "retry_afters": len(server.retry_afters),
                    "calls": dict(calls),
                    "webhook_refusals": dict(refused),
                }
            }
        )
        await next_line()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.telegram_api")
    parser.add_argument("--merchants", type=int, required=True)
    parser.add_argument("--warm", type=int, default=5)
    parser.add_argument("--start", type=int, default=1000)
    parser.add_argument("--per-chat", type=float, required=True)
    parser.add_argument("--burst", type=int, required=True)
    parser.add_argument("--per-bot", type=float, required=True)
    asyncio.run(main(parser.parse_args()))
