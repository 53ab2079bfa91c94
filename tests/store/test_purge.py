"""Retention: personal data older than the retention period goes, whatever state a conversation
was left in; filed requests stay, with their ticket, their history and masked identifiers."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from bot.store.repository import Store
from tests.chat import Bot

RAW = ("13800138000", "102100058120001", "LKL8A2301234", "102100058120002")


def everything_stored(store: Store) -> str:
    """Every value of every table, as text."""
    with store.engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        rows = [
            str(tuple(row))
            for table in tables
            for row in connection.execute(text(f'SELECT * FROM "{table}"')).all()
        ]
    return "\n".join(rows)


async def test_purge_removes_old_personal_data_and_keeps_filed_requests(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    filer, idler, guesser = bot.client("filer"), bot.client("idler"), bot.client("guesser")
    await filer.to_the_code_question()
    await filer.to_the_summary()
    await filer.tap("yes")
    assert (await filer.send("/agent")).keys == [
        "handoff.requested",
        "handoff.queue",
    ]  # after filing: a person
    await idler.send("/deregister")
    await idler.send("102100058120002")  # left mid-way, its slots hold a merchant number
    await guesser.send("/deregister")  # details that match nothing: counted against guessing
    for answer in ("102100058120002", "LKL8A2301234", "13800138000"):
        await guesser.send(answer)
    assert (await guesser.tap("yes")).keys[-1] == "verify.no_match"
    await filer.wait(40)  # review runs its course
    store = bot.app.store

    assert set(store.purge(180).values()) == {0}  # nothing is old yet

    bot.clock.advance(181 * 24 * 3600)
    counts = store.purge(180)
    assert counts["conversation"] == 2  # idler, guesser; the filer's stays with its request ...
    assert counts["scrubbed"] == 1  # ... though it waited for a person, without what was typed
    assert counts["transcript"] > 0 and counts["inboundkey"] > 0
    assert counts["verification"] == 1 and counts["detailcheck"] == 2
    assert counts["masked_requests"] == 1
    assert store.transcript("test", "idler") == [] and store.transcript("test", "filer") == []
    [request] = store.requests()
    assert (request["ticket"], request["status"]) == ("SBX-2026-000100", "completed")
    assert (request["merchant_id"], request["serial"]) == ("1021*******0001", "LKL8****1234")
    assert store.count("conversation") == 1

    stored = everything_stored(store)
    for raw in RAW:
        assert raw not in stored, f"{raw} survived the purge"
    assert "SBX-2026-000100" in stored
    # the merchant who filed can still ask how it went, and start afresh
    said = await filer.send("/status")
    assert said.keys[0] == "status.completed" and "SBX-2026-000100" in said.text
    assert (await filer.send("hello")).keys[0] == "menu.welcome"
    assert set(store.purge(180).values()) == {0}  # a second purge finds nothing more
