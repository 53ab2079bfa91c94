"""Retention: what is older than the retention period goes; filed requests stay."""

from __future__ import annotations

from pathlib import Path

from tests.chat import Bot


async def test_purge_removes_old_personal_data_and_keeps_filed_requests(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    filer, idler = bot.client("filer"), bot.client("idler")
    await filer.to_the_code_question()
    await filer.to_the_summary()
    await filer.tap("yes")
    await idler.send("/deregister")
    await idler.send("102100058120002")  # left mid-way, its slots hold a merchant number
    store = bot.app.store

    nothing = {"transcript": 0, "outbox": 0, "scrubbed": 0, "conversation": 0, "inboundkey": 0}
    assert store.purge(180) == nothing

    bot.clock.advance(181 * 24 * 3600)
    counts = store.purge(180)
    assert counts["conversation"] == 1  # the idle one; the filer's stays with its request ...
    assert counts["scrubbed"] == 1  # ... but without the numbers typed into it
    assert counts["transcript"] > 0 and counts["inboundkey"] > 0
    assert store.transcript("test", "idler") == [] and store.transcript("test", "filer") == []
    assert [r["ticket"] for r in store.requests()] == ["SBX-2026-000100"]
    assert store.count("conversation") == 1

    with store.engine.connect() as connection:
        kept = connection.exec_driver_sql("SELECT state FROM conversation").scalar_one()
    assert "13800138000" not in kept and "102100058120001" not in kept
    assert "SBX-2026-000100" in kept
    # the merchant who filed can still ask how it went
    said = await filer.send("/status")
    assert said.keys[0].startswith("status.")
