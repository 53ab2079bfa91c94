"""A chat client for tests: talks to a real app (real SQLite file, sandbox provider) the way a
channel does, and reads what the bot said from the outbox, as a channel would."""

from __future__ import annotations

import functools
import itertools
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.bootstrap import App, build
from bot.engine.events import InboundEvent
from bot.providers.sandbox import SandboxProvider
from bot.settings import Settings
from bot.store.database import connect, migrate

CODE = "246810"  # the sandbox's one-time code in tests


class Clock:
    """One hand-moved clock for the provider (seconds) and the store (datetimes)."""

    def __init__(self) -> None:
        self.seconds = 1_000.0
        self.start = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

    def __call__(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


@dataclass
class Said:
    """What the bot said in answer to one event."""

    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return [key for m in self.messages for key in m["keys"]]

    @property
    def text(self) -> str:
        return "\n".join(m["text"] for m in self.messages)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        found = [m["buttons"] for m in self.messages if m.get("buttons")]
        return [tuple(b) for b in found[-1]] if found else []  # type: ignore[misc]

    @property
    def attachments(self) -> list[dict[str, str]]:
        return [a for m in self.messages for a in m.get("attachments", [])]


@functools.cache
def migrated_database() -> Path:
    """A database file with every migration applied, made once per test process: each test's
    own database starts as a copy of it (the migrations themselves are tested on their own, in
    tests/store/test_migrations.py, and by every ``posbot`` process the tests start)."""
    path = Path(tempfile.mkdtemp(prefix="posbot-migrated-")) / "posbot.db"
    engine = connect(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()  # the last connection closed: the write-ahead log is folded into the file
    return path


class Bot:
    """The app under test; ``restart()`` builds a new one on the same database and provider."""

    def __init__(self, tmp: Path, *, review_seconds: float = 10.0, **overrides: Any) -> None:
        if not (tmp / "posbot.db").exists():
            tmp.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(migrated_database(), tmp / "posbot.db")
        self.clock = Clock()
        self.sandbox_database = f"sqlite:///{tmp / 'sandbox.db'}"
        self.provider = SandboxProvider(
            clock=self.clock,
            review_step_seconds=review_seconds,
            fixed_code=CODE,
            database=self.sandbox_database,
        )
        overrides.setdefault("exports_dir", tmp / "exports")  # links kept: not in ./var
        self.settings = Settings(
            database_url=f"sqlite:///{tmp / 'posbot.db'}", _env_file=None, **overrides
        )  # type: ignore[call-arg]
        self.app = self._build()

    def _build(self) -> App:
        return build(self.settings, provider=self.provider, clock=self.clock.now)

    def restart(self) -> None:
        self.app.store.engine.dispose()
        self.app = self._build()

    def client(self, user: str = "merchant", *, locale: str | None = "zh_CN") -> Client:
        return Client(self, user, locale)


_keys = itertools.count(1)


class Client:
    def __init__(self, bot: Bot, user: str, locale: str | None) -> None:
        self.bot = bot
        self.user = user
        self.locale = locale
        self.last_event: InboundEvent | None = None
        self.refused: str | None = None  # why the last agent action was refused

    async def send(self, text: str) -> Said:
        return await self.deliver(
            InboundEvent("test", self.user, f"u{next(_keys)}", text=text, locale=self.locale)
        )

    async def share_contact(self, phone: str, *, own: bool) -> Said:
        """The merchant shares a contact (their own, or someone else's), as Telegram sends it."""
        contact = {"phone": phone, "own": own}
        return await self.deliver(
            InboundEvent(
                "test",
                self.user,
                f"u{next(_keys)}",
                text=phone,
                payload={"contact": contact},
                locale=self.locale,
            )
        )

    async def agent(self, action: str, agent: str = "alice", **more: Any) -> Said:
        """A person acts on this conversation from the console (claim, handback, close...)."""
        payload = {"action": action, "agent": agent, **more}
        event = InboundEvent(
            "test", self.user, f"agent:{next(_keys)}", kind="agent", payload=payload
        )
        self.refused = (await self.bot.app.runtime.receive(event)).refused
        return self.read()

    async def tap(self, value: str) -> Said:
        return await self.deliver(
            InboundEvent(
                "test",
                self.user,
                f"u{next(_keys)}",
                kind="button",
                payload={"value": value},
                locale=self.locale,
            )
        )

    async def to_the_code_question(self) -> Said:
        """The clean demo terminal's details, confirmed: the code has just been sent."""
        await self.send("/deregister")
        for answer in ("102100058120001", "LKL8A2301234", "13800138000"):
            await self.send(answer)
        return await self.tap("yes")

    async def to_the_summary(self) -> Said:
        """On from the code question: the code, the checklist all done, a reason."""
        await self.send(CODE)
        await self.tap("all")
        return await self.tap("other")

    async def replay(self) -> Said:
        """The platform delivers the last update again (same dedup key)."""
        assert self.last_event is not None
        return await self.deliver(self.last_event)

    async def deliver(self, event: InboundEvent) -> Said:
        self.last_event = event
        await self.bot.app.runtime.receive(event)
        return self.read()

    async def wait(self, seconds: float) -> Said:
        """Time passes at the provider; status changes are polled and pushed."""
        self.bot.clock.advance(seconds)
        await self.bot.app.runtime.poll_statuses()
        return self.read()

    def read(self) -> Said:
        runtime = self.bot.app.runtime
        items = runtime.outgoing("test", self.user)
        runtime.delivered(items)
        return Said([item.payload for item in items])
