"""The matcher on the labelled sets: the targets of issue 20 hold (``make eval`` prints all)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.understanding import Understanding
from bot.understanding.evaluate import evaluate, read_set

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def understanding() -> Understanding:
    return Understanding.load(ROOT / "locales")


def test_the_sets_are_large_enough() -> None:
    zh, en = read_set(HERE / "zh.tsv"), read_set(HERE / "en.tsv")
    assert len(zh) >= 300 and len(en) >= 100
    assert any(row.text != row.text.encode("ascii", "ignore").decode() for row in en) or en


@pytest.mark.parametrize("name", ["zh.tsv", "en.tsv", "*"])
def test_targets(understanding: Understanding, name: str) -> None:
    files = sorted(HERE.glob("*.tsv")) if name == "*" else [HERE / name]
    result = evaluate(understanding, [row for path in files for row in read_set(path)])
    assert result["accuracy"] >= 0.95, result["errors"]
    assert result["destructive_precision"] >= 0.99, result["errors"]
    assert result["oos_false_accept"] <= 0.03, result["errors"]
