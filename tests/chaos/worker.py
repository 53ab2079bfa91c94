"""A posbot process for the chaos tests: many merchants at once, each answering whatever the bot
last asked, on a real SQLite file and a sandbox file shared with the processes before and after
it. The test kills it with SIGKILL wherever it is; it may also kill itself right after the
provider answered and before posbot committed the answer (the window the issue is about).

    python -m tests.chaos.worker DB SANDBOX_DB --merchants N [--kill-after-answer P]
        [--clock-offset-file F] [--seed S] [--sms-log F]

Its clock runs ``--clock-offset-file`` seconds ahead of the real one, so a restart can happen
"31 minutes later". It exits 0 once every merchant has been told their ticket."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.bootstrap import App, build
from bot.engine.events import InboundEvent
from bot.providers.base import CodeVerdict, Filing, Provider, RequestStatus
from bot.providers.config import Retries, load_provider_file
from bot.providers.http import HttpProvider
from bot.providers.sandbox import SandboxProvider
from bot.settings import PROJECT, Settings

CODE = "246810"
CHANNEL = "chaos"
FIRST = 5000  # the generated terminals' first number
TOLD = {"submit.filed", "status.filed_late"}


class DyingSandbox(SandboxProvider):
    """The sandbox, as seen by a process that may die right after it answered."""

    def __init__(self, kill_after_answer: float, rng: random.Random, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kill_after_answer = kill_after_answer
        self.rng = rng

    def _maybe_die(self) -> None:
        if self.rng.random() < self.kill_after_answer:
            os.kill(os.getpid(), signal.SIGKILL)

    async def _do_submit(self, filing: Filing) -> RequestStatus:
        status = await super()._do_submit(filing)
        self._maybe_die()  # filed at the provider; posbot has not committed the answer
        return status

    async def _do_check_code(
        self, merchant_id: str, serial: str, code: str, key: str | None
    ) -> CodeVerdict:
        verdict = await super()._do_check_code(merchant_id, serial, code, key)
        self._maybe_die()  # the code is used up at the provider; posbot does not know yet
        return verdict


class DyingHttp(HttpProvider):
    """The HTTP adapter, as seen by a process that may die right after the provider answered."""

    def __init__(self, kill_after_answer: float, rng: random.Random, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kill_after_answer = kill_after_answer
        self.rng = rng

    def _maybe_die(self) -> None:
        if self.rng.random() < self.kill_after_answer:
            os.kill(os.getpid(), signal.SIGKILL)

    async def _do_submit(self, filing: Filing) -> RequestStatus:
        status = await super()._do_submit(filing)
        self._maybe_die()  # filed at the provider; posbot has not committed the answer
        return status

    async def _do_check_code(
        self, merchant_id: str, serial: str, code: str, key: str | None
    ) -> CodeVerdict:
        verdict = await super()._do_check_code(merchant_id, serial, code, key)
        self._maybe_die()
        return verdict


def http_provider(url: str, token: str, kill_after_answer: float, rng: random.Random) -> DyingHttp:
    environ = {"POSBOT_SANDBOX_URL": url, "POSBOT_SANDBOX_TOKEN": token}
    config = load_provider_file(PROJECT / "providers" / "sandbox.yaml", environ)
    config = config.model_copy(
        update={"retries": Retries(attempts=3, backoff_seconds=0.01, max_backoff_seconds=0.05)}
    )
    return DyingHttp(kill_after_answer, rng, config=config, environ=environ)


def user(i: int) -> str:
    return f"m{i}"


def answer(payload: dict[str, Any] | None, terminal: Any) -> tuple[str, str] | None:
    """(kind, text or button value) that answers the bot's last message; None: nothing to
    answer (a provider call is under way, or the merchant is done)."""
    if payload is None:
        return ("text", "/deregister")
    keys = set(payload["keys"])
    buttons = [value for _label, value in payload.get("buttons", [])]

    def tap(prefix: str) -> tuple[str, str]:
        return ("button", next(v for v in buttons if v.startswith(prefix)))

    if keys & TOLD or keys & {"end.done"}:
        return None
    if "ask.merchant_id" in keys:
        return ("text", terminal.merchant_id)
    if "ask.serial" in keys:
        return ("text", terminal.serial)
    if "ask.phone" in keys:
        return ("text", terminal.registered_phone.removeprefix("+86"))
    if keys & {"ask.code", "ask.code_again"}:
        return ("text", CODE)
    if keys & {"confirm.details", "summary"}:
        return tap("yes@")
    if "checklist.intro" in keys:  # the list: on to the items one by one
        return tap("next@")
    if "checklist.item" in keys:
        return tap("done@")
    if "reason.prompt" in keys or "code.expired" in keys:
        return ("button", buttons[0])
    if keys & {"menu.prompt"}:
        return ("button", "deregister")
    return None  # verify.wait, submit.wait, system.busy ...: the runtime is on it


async def merchant(app: App, i: int, terminal: Any) -> None:
    runtime, store = app.runtime, app.store
    while True:
        last = store.last_message(CHANNEL, user(i))
        over = last is not None and set(last.payload["keys"]) & {"end.done", *TOLD}
        if over and told(app, i):
            return
        reply = answer(None if last is None else last.payload, terminal)
        if reply is None:
            await asyncio.sleep(0.05)
            await runtime.sweep()
            continue
        kind, value = reply
        key = f"{user(i)}:{last.id if last else 0}"  # the same question is answered once
        event = (
            InboundEvent(CHANNEL, user(i), key, text=value)
            if kind == "text"
            else InboundEvent(CHANNEL, user(i), key, kind="button", payload={"value": value})
        )
        await runtime.receive(event)


def told(app: App, i: int) -> bool:
    with app.store.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT payload FROM outbox WHERE channel = ? AND user_id = ? AND kind = 'message'",
            (CHANNEL, user(i)),
        ).all()
    return any(any(f'"{key}"' in row[0] for key in TOLD) for row in rows)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("sandbox_db")
    parser.add_argument("--merchants", type=int, default=10)
    parser.add_argument("--kill-after-answer", type=float, default=0.0)
    parser.add_argument("--clock-offset-file", type=Path)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--sms-log", type=Path, help="append every code sent (its phone) here")
    parser.add_argument("--sandbox-url", help="file over HTTP at this sandbox service")
    parser.add_argument("--sandbox-token", default="")
    args = parser.parse_args()
    offset = 0.0
    if args.clock_offset_file and args.clock_offset_file.exists():
        offset = float(args.clock_offset_file.read_text() or 0)

    def clock() -> datetime:
        return datetime.now(UTC) + timedelta(seconds=offset)

    rng = random.Random(args.seed)

    def log_sms(phone: str, code: str) -> None:
        if args.sms_log is not None:
            with args.sms_log.open("a") as sms:
                sms.write(f"{phone}\n")

    sandbox = DyingSandbox(
        args.kill_after_answer,
        rng,
        database=f"sqlite:///{args.sandbox_db}",
        fixed_code=CODE,
        review_step_seconds=10**6,  # review never moves: every request stays open
        clock=lambda: time.time() + offset,
        on_sms=log_sms,
    )
    terminals = sandbox.generate_terminals(args.merchants, start=FIRST)
    provider: Provider = sandbox
    if args.sandbox_url:  # the service has the same terminals (posbot sandbox-provider --generate)
        provider = http_provider(args.sandbox_url, args.sandbox_token, args.kill_after_answer, rng)
    settings = Settings(
        database_url=f"sqlite:///{args.db}",
        demo=False,
        _env_file=None,  # type: ignore[call-arg]
    )
    app = build(settings, provider=provider, clock=clock)
    print("READY", flush=True)
    await app.runtime.sweep()  # what a dead process left: filings to finish, checks to redo
    await asyncio.gather(*(merchant(app, i, t) for i, t in enumerate(terminals)))
    print("DONE", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
