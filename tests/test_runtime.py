"""The runtime around the engine: versions pinned per conversation, crashes and hiccups that
must not lose a merchant's request, and the rules the effect runner enforces on its own."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bot.engine.events import InboundEvent
from bot.engine.state import ConversationState
from bot.errors import ProviderUnavailable
from bot.providers.base import Filing, RequestStatus
from bot.settings import PROJECT
from bot.store.claims import EFFECT_LEASE
from bot.store.tables import CONVERSATION
from tests.chat import CODE, Bot, Client


async def at_the_code_question(bot: Bot) -> Client:
    client = bot.client()
    await client.to_the_code_question()
    return client


def committed(bot: Bot, user: str, key: str, *, text: str = "", tap: str | None = None) -> Any:
    """The event handled and committed; its effects not run yet (a slow provider)."""
    if tap is None:
        return bot.app.runtime.service.handle(InboundEvent("test", user, key, text=text))
    event = InboundEvent("test", user, key, kind="button", payload={"value": tap})
    return bot.app.runtime.service.handle(event)


def state_of(bot: Bot, user: str) -> ConversationState:
    with bot.app.store.engine.connect() as connection:
        raw = connection.execute(CONVERSATION.select().where(CONVERSATION.c.user_id == user)).one()
    return ConversationState.from_json(raw.state)


async def test_a_conversation_keeps_the_flow_version_it_started_with(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(PROJECT / "flows", flows)
    bot = Bot(tmp_path, flows_dir=flows)
    old = bot.client("old")
    await old.send("/deregister")
    said = await old.send("102100058120001")
    assert said.keys == ["ask.serial"]
    started_on = state_of(bot, "old").flow_version

    # the operator renames steps and drops the intro, then restarts the process
    source = (flows / "termination.yaml").read_text(encoding="utf-8")
    source = source.replace("id: serial", "id: terminal_serial").replace(
        "edit: {merchant_id: merchant_id, serial: serial,",
        "edit: {merchant_id: merchant_id, serial: terminal_serial,",
    )
    source = source.replace("serial: {ask: serial,", "serial: {ask: terminal_serial,")
    source = source.replace("  - id: intro\n    say: termination.intro\n", "")
    (flows / "termination.yaml").write_text(source, encoding="utf-8")
    bot.restart()

    said = await old.send("LKL8A2301234")
    assert said.keys == ["ask.phone"], "the old conversation is stranded"
    assert state_of(bot, "old").flow_version == started_on

    new = bot.client("new")
    said = await new.send("/deregister")
    assert said.keys == ["ask.merchant_id"]  # the new version has no intro
    assert state_of(bot, "new").flow_version != started_on


async def test_replies_not_yet_delivered_survive_a_restart(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    event = InboundEvent("test", "m", "k1", text="/start", locale="en")
    await bot.app.runtime.receive(event)
    bot.restart()  # the process died before the channel sent anything
    pending = bot.app.runtime.outgoing("test", "m")
    assert [key for item in pending for key in item.payload["keys"]] == [
        "menu.welcome",
        "menu.prompt",
    ]


async def test_a_broken_message_hands_over_to_a_person_and_keeps_the_data(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = bot.client()
    await client.send("/deregister")
    await client.send("102100058120001")
    bot.app.engine.catalog.messages["zh_CN"]["ask.phone"] = "{{ no_such_variable }}"
    bot.app.engine.catalog._templates.clear()
    said = await client.send("LKL8A2301234")
    assert said.keys == ["handoff.error", "handoff.queue"]
    state = state_of(bot, client.user)
    assert state.status == "waiting_agent"
    assert state.slots["merchant_id"] == "102100058120001"
    assert state.step == "serial"  # where it was: an agent can hand it back to the bot here


async def test_a_provider_outage_hands_over_without_losing_anything(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    calls = 0

    async def down(serial: str) -> None:
        nonlocal calls
        calls += 1
        raise ProviderUnavailable("connection refused", retry_after=0)

    bot.provider._do_find_terminal = down  # type: ignore[method-assign]
    bot.app.runtime.runner.wait_max = 0
    client = bot.client()
    await client.send("/deregister")
    for answer in ("102100058120001", "LKL8A2301234", "13800138000"):
        await client.send(answer)
    said = await client.tap("yes")
    assert said.keys == ["verify.wait", "handoff.provider_down", "handoff.queue"]
    assert calls == 3  # retried before giving up
    assert state_of(bot, client.user).slots["phone"] == "+8613800138000"


async def test_nothing_is_filed_without_a_fresh_code_of_the_same_conversation(
    tmp_path: Path,
) -> None:
    bot = Bot(tmp_path)
    await bot.client("m").send("/start")  # the conversation asking (conversation 1)
    guards = bot.app.runtime.service.guards
    params = {
        "idempotency_key": "k" * 32,
        "kind": "deregister",
        "merchant_id": "102100058120001",
        "serial": "LKL8A2301234",
        "phone": "+8613800138000",
    }
    submit = {"call": "submit", "params": params}
    check = {"call": "check_code", "params": params}
    not_verified = ("refused", {"code": "not_verified"})
    with bot.app.store.transaction() as tx:
        assert guards.before(tx, 1, "test:m", submit) == not_verified
        assert guards.before(tx, 1, "test:m", check) is None  # an attempt taken ...
        assert guards.after(tx, 1, "test:m", check, ("ok", {})) == ("ok", {})  # ... and right
        # another conversation does not ride on this one's code
        stranger = {"call": "submit", "params": {**params, "idempotency_key": "s" * 32}}
        assert guards.before(tx, 1, "test:stranger", stranger) == not_verified
        assert guards.before(tx, 1, "test:m", submit) is None  # started: recorded, no ticket
        assert tx.filed("k" * 32) == (None, "filing")
        # a second request for the same terminal is refused while the first is open
        again = {"call": "submit", "params": {**params, "idempotency_key": "j" * 32}}
        assert guards.before(tx, 1, "test:m", again) == (
            "refused",
            {"code": "open_request", "ticket": None},
        )
    bot.clock.advance(31 * 60)  # the verification window is over, but once started it finishes
    with bot.app.store.transaction() as tx:
        assert guards.before(tx, 1, "test:m", submit) is None
    outcome, data = await bot.app.runtime.runner._submit({**params, "check": "1"})
    assert outcome == "filed"
    with bot.app.store.transaction() as tx:
        guards.after(tx, 1, "test:m", submit, (outcome, data))
        assert tx.filed("k" * 32) == (data["ticket"], "submitted")
        assert tx.open_request_for("102100058120001", "LKL8A2301234") == (data["ticket"],)


async def test_the_one_time_code_is_not_kept_in_the_store(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = await at_the_code_question(bot)
    said = await client.send(CODE)
    assert said.keys[0] == "code.ok"
    with bot.app.store.engine.connect() as connection:
        for table in ("conversation", "transcript", "outbox"):
            dump = " ".join(str(row) for row in connection.execute(text(f"select * from {table}")))
            assert CODE not in dump, f"the code is stored in {table}"


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    with bot.app.store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


async def test_a_second_confirm_while_filing_files_nothing_more(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = await at_the_code_question(bot)
    await client.to_the_summary()
    # the merchant taps "submit" twice before the provider answers the first
    first = committed(bot, client.user, "tap-1", tap="yes")
    second = committed(bot, client.user, "tap-2", tap="yes")
    assert [k for m in second.messages for k in m.payload["keys"]] == ["system.busy"]
    assert len(first.effects) == 1 and second.effects == []
    for effect in first.effects:
        await bot.app.runtime.receive(await bot.app.runtime.runner.run(effect))
    assert bot.provider.filings == 1
    assert len(bot.app.store.requests()) == 1


async def test_a_status_that_comes_back_is_pushed_again(tmp_path: Path) -> None:
    """under review → needs info → under review again: the second 'under review' is news."""
    bot = Bot(tmp_path)
    client = await at_the_code_question(bot)
    await client.to_the_summary()
    await client.tap("yes")
    ticket = bot.app.store.requests()[0]["ticket"]
    states = iter(["under_review", "needs_info", "under_review"])

    async def scripted(asked: str) -> RequestStatus:
        return RequestStatus(asked, next(states), None)

    bot.provider._do_status = scripted  # type: ignore[method-assign]
    pushed = []
    for _ in range(3):
        await bot.app.runtime.poll_statuses()
        pushed += client.read().keys
    assert pushed == ["status.under_review", "status.needs_info", "status.under_review"]
    assert ticket == "SBX-2026-000100"


async def test_events_arriving_together_share_a_commit(tmp_path: Path) -> None:
    import asyncio

    bot = Bot(tmp_path)
    runtime = bot.app.runtime
    events = [InboundEvent("test", f"m{i}", f"k{i}", text="/start") for i in range(12)]
    deliveries = await asyncio.gather(*(runtime.receive(e) for e in events))
    assert all(d.messages for d in deliveries)
    assert runtime.committed_events == 12 and runtime.commits < 12


def test_a_failing_event_is_rolled_back_alone(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    service = bot.app.runtime.service
    advance = service.engine.advance

    def broken_for_m2(state, event, **kwargs):  # type: ignore[no-untyped-def]
        if event.user_id == "m2":
            raise RuntimeError("disk on fire")
        return advance(state, event, **kwargs)

    service.engine.advance = broken_for_m2  # type: ignore[method-assign]
    batch = [InboundEvent("test", f"m{i}", f"k{i}", text="/start") for i in (1, 2, 3)]
    first, failed, third = service.handle_batch(batch)
    assert isinstance(failed, RuntimeError)
    assert not isinstance(first, Exception) and not isinstance(third, Exception)
    assert not first.duplicate and not third.duplicate
    service.engine.advance = advance  # type: ignore[method-assign]
    again = service.handle(batch[1])  # its dedup key was rolled back with it: a retry works
    assert not again.duplicate and again.messages
    assert bot.app.store.count("conversation") == 3


async def test_an_effect_committed_before_a_crash_runs_after_the_restart(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = bot.client()
    await client.send("/deregister")
    for answer in ("102100058120001", "LKL8A2301234", "13800138000"):
        await client.send(answer)
    # "looks right" is committed with its provider check queued — then the process dies
    handled = committed(bot, client.user, "tap-yes", tap="yes")
    assert len(handled.effects) == 1
    bot.restart()
    assert await bot.app.runtime.sweep() == 0  # the dead process's claim holds a while ...
    bot.clock.advance(EFFECT_LEASE.total_seconds() + 1)
    assert await bot.app.runtime.sweep() == 1  # ... then its lease runs out
    said = client.read()
    assert said.keys == ["verify.wait", "ask.code"]
    assert await bot.app.runtime.sweep() == 0  # done once, never again


async def test_a_code_typed_while_the_last_one_is_checked_is_not_stored(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = await at_the_code_question(bot)
    checking = committed(bot, client.user, "c1", text="111111")
    assert checking.effects  # the check is on its way to the provider
    again = committed(bot, client.user, "c2", text=CODE)
    assert [k for m in again.messages for k in m.payload["keys"]] == ["system.busy"]
    stored = "\n".join(text for _, text in bot.app.store.transcript("test", client.user))
    assert CODE not in stored and "111111" not in stored


async def test_a_message_missing_from_the_catalog_hands_over_instead_of_crashing(
    tmp_path: Path,
) -> None:
    bot = Bot(tmp_path)
    client = bot.client()
    await client.send("/deregister")
    await client.send("102100058120001")
    del bot.app.engine.catalog.messages["zh_CN"]["invalid.serial.chars"]
    said = await client.send("LKL-8A23-0123!")
    assert said.keys == ["handoff.error", "handoff.queue"]


async def test_a_filing_whose_answer_was_lost_is_asked_again_and_its_ticket_told(
    tmp_path: Path,
) -> None:
    bot = Bot(tmp_path)
    client = await at_the_code_question(bot)
    await client.to_the_summary()
    submit = bot.provider._do_submit
    lost = 0

    async def files_but_the_answer_is_lost(filing: Filing) -> RequestStatus:
        nonlocal lost
        status = await submit(filing)  # the provider files it ...
        if lost < 3:
            lost += 1
            raise ProviderUnavailable("read timeout")  # ... and its answer never arrives
        return status

    bot.provider._do_submit = files_but_the_answer_is_lost  # type: ignore[method-assign]
    bot.app.runtime.runner.wait_max = 0
    said = await client.tap("yes")
    assert said.keys == ["submit.wait", "submit.delayed", "end.done"]
    # started, so the terminal is taken and /status says it is being filed
    assert [(r["ticket"], r["status"]) for r in bot.app.store.requests()] == [(None, "filing")]
    assert (await client.send("/status")).keys[0] == "status.filing"
    assert await bot.app.runtime.sweep() == 0  # not due yet
    bot.clock.advance(31)
    assert await bot.app.runtime.sweep() == 1
    said = client.read()
    assert said.keys == ["status.filed_late"] and "SBX-2026-000100" in said.text
    assert bot.provider.filings == 1
    assert [r["ticket"] for r in bot.app.store.requests()] == ["SBX-2026-000100"]
    said = await client.send("/status")
    assert said.keys[0] != "status.none" and "SBX-2026-000100" in said.text


async def test_cancel_while_filing_does_not_claim_nothing_was_filed(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = await at_the_code_question(bot)
    await client.to_the_summary()
    filing = committed(bot, client.user, "yes", tap="yes")
    cancelled = committed(bot, client.user, "cancel", text="/cancel")
    said = [k for m in cancelled.messages for k in m.payload["keys"]]
    assert said[:1] == ["system.cancelled_filing"]
    for effect in filing.effects:
        await bot.app.runtime.receive(await bot.app.runtime.runner.run(effect))
    assert client.read().keys[-1] == "status.filed_late"


async def test_a_restarted_sandbox_keeps_reviewing_and_numbering_on(tmp_path: Path) -> None:
    from bot.bootstrap import build
    from bot.providers.sandbox import SandboxProvider

    bot = Bot(tmp_path)
    client = await at_the_code_question(bot)
    await client.to_the_summary()
    await client.tap("yes")
    # `make run` again: a new process, a new sandbox on the same file
    bot.app.store.engine.dispose()
    bot.provider = SandboxProvider(
        clock=bot.clock, review_step_seconds=10.0, fixed_code=CODE, database=bot.sandbox_database
    )
    bot.app = build(bot.settings, provider=bot.provider, clock=bot.clock.now)
    bot.clock.advance(10)
    assert await bot.app.runtime.poll_statuses() == 1
    assert client.read().keys == ["status.under_review"]
    other = bot.client("other")
    await other.send("/deregister")
    for answer in ("102100058120004", "SZZT00445566", "13600136000"):
        await other.send(answer)
    await other.tap("yes")
    await other.to_the_summary()
    said = await other.tap("yes")
    assert "SBX-2026-000101" in said.text  # not SBX-2026-000100 a second time
