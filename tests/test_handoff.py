"""A person takes over: the merchant hears their place in the queue; one agent at a time holds
the conversation (an admin may reassign it) while the bot stays silent — the scam shield still
redacts what is kept, status pushes still arrive; the agent hands back at a step, where the bot
resumes with the data it has, or closes, and the merchant rates the help. Every action is
audited, masked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.engine.state import ConversationState
from bot.store.tables import AUDIT, HANDOFF
from tests.chat import CODE, Bot, Client


def handoffs(bot: Bot) -> list[dict[str, Any]]:
    with bot.app.store.reading() as tx:
        return [dict(r._mapping) for r in tx.connection.execute(select(HANDOFF)).all()]


def audit(bot: Bot) -> list[dict[str, Any]]:
    with bot.app.store.reading() as tx:
        return [dict(r._mapping) for r in tx.connection.execute(select(AUDIT)).all()]


async def at_the_summary_then_a_person(client: Client) -> None:
    await client.to_the_code_question()
    await client.to_the_summary()
    said = await client.send("/agent")
    assert said.keys == ["handoff.requested", "handoff.queue"]


async def test_the_merchant_hears_their_place_in_the_queue(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    first, second = bot.client("m1", locale="en"), bot.client("m2", locale="en")
    assert "0 people ahead" in (await first.send("/agent")).text
    assert "1 person ahead" in (await second.send("/agent")).text
    assert (await first.send("hello?")).keys == ["handoff.waiting"]  # still queued, once
    await first.agent("claim")
    third = bot.client("m3", locale="en")
    assert "1 person ahead" in (await third.send("/agent")).text  # the held one is not ahead
    said = await second.send("/cancel")  # leaves the queue
    assert said.keys[0] == "system.cancelled"
    (h1, h2, h3) = handoffs(bot)
    assert h1["agent"] == "alice" and h1["closed_at"] is None
    assert h2["closed_by"] == "merchant" and h3["closed_at"] is None


async def test_while_a_person_helps_the_bot_is_silent_but_shields_and_pushes(
    tmp_path: Path,
) -> None:
    bot = Bot(tmp_path, review_seconds=5.0)
    client = bot.client("m")
    await client.to_the_code_question()
    await client.to_the_summary()
    await client.tap("yes")  # filed: a status change will come
    await client.send("/agent")
    said = await client.agent("claim")
    assert said.keys == ["agent.joined"] and "alice" in said.text
    assert (await client.send("你好，我想问一下押金")).keys == []  # for the person, not the bot
    assert (await client.send("卡号 6222 0212 3456 7891 238")).keys == []  # no warning either...
    kept = [text for direction, text in bot.app.store.transcript("test", "m") if direction == "in"]
    assert not any("6222 0212 3456 7891 238" in text for text in kept)  # ... but redacted
    assert (await client.send("/help")).keys == []
    said = await client.wait(6)  # the provider moves the request on
    assert said.keys and said.keys[0].startswith("status.")


async def test_one_agent_holds_a_conversation_and_an_admin_may_reassign(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = bot.client("m")
    await client.send("/agent")
    await client.agent("claim", agent="alice")
    said = await client.agent("claim", agent="bob")
    assert client.refused == "held by alice" and said.keys == []
    await client.agent("close", agent="bob")
    assert client.refused == "held by alice"
    await client.agent("claim", agent="carol", reassign=True)  # an admin takes it over
    assert client.refused is None and handoffs(bot)[0]["agent"] == "carol"


async def test_handed_back_at_the_summary_the_bot_resumes_with_its_data(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = bot.client("m")
    await at_the_summary_then_a_person(client)
    await client.agent("claim")
    await client.agent("correct", slot="reason", value="closing_business")
    said = await client.agent("handback", step="summary")
    assert said.keys == ["agent.handed_back", "summary"]
    assert "1021*******0001" in said.text
    said = await client.tap("yes")
    assert said.keys == ["submit.wait", "submit.filed", "end.done"]
    [closed] = handoffs(bot)
    assert closed["closed_by"] == "alice" and closed["closed_at"] is not None
    actions = [(row["agent"], row["action"]) for row in audit(bot)]
    assert actions == [("alice", "claim"), ("alice", "correct"), ("alice", "handback")]
    correct = audit(bot)[1]
    assert "closing_business" not in correct["detail"] and "masked" in correct["detail"]


async def test_a_correction_that_does_not_pass_its_check_changes_nothing(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = bot.client("m")
    await at_the_summary_then_a_person(client)
    await client.agent("claim")
    await client.agent("correct", slot="phone", value="12345")
    said = await client.agent("handback", step="summary")
    assert "138****8000" in said.text


async def test_closed_the_merchant_rates_the_help(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    client = bot.client("m")
    await client.send("/agent")
    await client.agent("claim")
    said = await client.agent("close")
    assert said.keys == ["agent.closed", "feedback.prompt"]
    assert [value.split("@")[0] for _, value in said.buttons] == ["5", "4", "3", "2", "1"]
    said = await client.tap("4")
    assert said.keys == ["feedback.thanks"]
    [rated] = handoffs(bot)
    assert rated["rating"] == 4 and rated["closed_by"] == "alice"
    said = await client.send(CODE)  # anything after it: the menu, as always
    assert "menu.prompt" in said.keys


async def test_correcting_or_handing_back_needs_the_claim_unless_an_admin(tmp_path: Path) -> None:
    """Regression: any agent could correct a value of, or hand back, a conversation another
    agent held — or one nobody had claimed."""
    bot = Bot(tmp_path)
    client = bot.client("m")
    await at_the_summary_then_a_person(client)
    assert (await client.agent("handback", step="summary")).keys == []
    assert client.refused == "claim the conversation first"
    await client.agent("claim", agent="alice")
    assert (await client.agent("correct", agent="bob", slot="reason", value="other")).keys == []
    assert client.refused == "held by alice"
    assert (await client.agent("handback", agent="bob", step="summary")).keys == []
    assert client.refused == "held by alice"
    said = await client.agent("handback", agent="root", admin=True, step="summary")
    assert client.refused is None and said.keys == ["agent.handed_back", "summary"]
    actions = [(row["agent"], row["action"]) for row in audit(bot)]
    assert actions == [("alice", "claim"), ("root", "handback")]
    assert "admin" not in audit(bot)[1]["detail"]


async def test_a_hand_back_to_a_step_the_bot_cannot_show_yet_is_refused(tmp_path: Path) -> None:
    """Regression: handed back at the summary before the reason was asked, the summary broke
    and the merchant was told something went wrong. The engine now tries the action on a
    copy first and says what is missing; the conversation is untouched."""
    bot = Bot(tmp_path)
    client = bot.client("m")
    await client.to_the_code_question()
    await client.send("人工")
    await client.agent("claim")
    row = bot.app.store.conversation_row(1)
    assert row is not None
    state = ConversationState.from_json(row["state"])
    handback = {"action": "handback", "agent": "alice", "step": "summary"}
    why = bot.app.engine.refusal(state, handback)
    assert why is not None and "summary" in why and "reason" in why
    assert state.to_json() == row["state"]  # tried on a copy
    assert bot.app.engine.refusal(state, {**handback, "step": "code"}) is None
    said = await client.agent("handback", step="code")
    assert said.keys == ["agent.handed_back", "ask.code"]
    assert (await client.send(CODE)).keys == ["code.ok", "checklist.intro"]


async def test_handed_back_where_the_merchant_was_the_checklist_keeps_its_ticks(
    tmp_path: Path,
) -> None:
    """Regression (issue 20): a hand-off replaced the step's progress with its own mark, so a
    hand-back at the checklist (the console's default: the step the merchant was at) started
    it over, the items ticked before unticked. Now the progress is set aside and comes back."""
    bot = Bot(tmp_path)
    client = bot.client("m", locale="en")
    await client.to_the_code_question()
    assert (await client.send(CODE)).keys == ["code.ok", "checklist.intro"]
    await client.tap("tick:backup_daily@checklist")
    await client.send("/agent")
    await client.agent("claim")
    said = await client.agent("handback", step="checklist")
    assert said.keys == ["agent.handed_back", "checklist.intro"]
    assert "✅ Back up the daily settlement reports" in said.text
    said = await client.tap("next@checklist")
    assert said.keys == ["checklist.item"] and "Item 1/5" in said.text


async def test_handed_back_at_the_question_that_handed_over_it_is_asked_afresh(
    tmp_path: Path,
) -> None:
    """Three wrong phones hand over; handed back at that question (or left with /cancel) the
    merchant number and serial are still there and the phone has its three tries again."""
    bot = Bot(tmp_path)
    client = bot.client("m", locale="en")
    await client.send("/deregister")
    await client.send("102100058120001")
    await client.send("LKL8A2301234")
    for wrong in ("12345", "23456"):
        await client.send(wrong)
    assert (await client.send("34567")).keys[-2:] == ["handoff.retries", "handoff.queue"]
    await client.agent("claim")
    said = await client.agent("handback", step="phone")
    assert said.keys == ["agent.handed_back", "ask.phone"]
    said = await client.send("12345")
    assert said.keys[-1] == "retry.left" and "2 tries left" in said.text
    said = await client.send("13800138000")
    assert said.keys == ["confirm.details"]
    assert "1021*******0001" in said.text and "LKL8****1234" in said.text


async def test_leaving_a_person_who_helps_keeps_what_was_entered(tmp_path: Path) -> None:
    """/cancel while an agent holds the conversation: the help is over (closed by the merchant)
    and the bot carries on where the merchant was; a second /cancel drops the request."""
    bot = Bot(tmp_path)
    client = bot.client("m", locale="en")
    await client.to_the_code_question()
    await client.send(CODE)
    await client.tap("tick:backup_slips@checklist")
    await client.send("/agent")
    await client.agent("claim")
    assert (await client.send("hello?")).keys == []  # for the person
    said = await client.send("/cancel")
    assert said.keys == ["handoff.left", "checklist.intro"]
    assert "✅ Back up the settlement slips" in said.text
    [closed] = handoffs(bot)
    assert closed["closed_by"] == "merchant" and closed["closed_at"] is not None
    assert (await client.send("/cancel")).keys == ["system.cancelled", "menu.prompt"]
