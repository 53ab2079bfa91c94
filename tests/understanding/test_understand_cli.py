"""``posbot understand``: one JSON line per message, numbers masked, null when out of scope."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from bot.cli import app


def test_one_json_line_per_message_with_masked_slots() -> None:
    typed = "pos机不用了怎么销户\n押金能退嗎\n商户号102100058120001 手机13800138000\n今天天气不错\n"
    result = CliRunner().invoke(app, ["understand"], input=typed)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["intent"] for line in lines] == ["deregister", "faq.deposit", None, None]
    assert lines[2]["slots"] == {"merchant_id": "1021*******0001", "phone": "138****8000"}
    assert set(lines[0]) == {"text", "intent", "confidence", "slots"}


def test_english() -> None:
    typed = "how long does it take\n"
    result = CliRunner().invoke(app, ["understand", "--lang", "en"], input=typed)
    assert json.loads(result.output)["intent"] == "faq.duration"
