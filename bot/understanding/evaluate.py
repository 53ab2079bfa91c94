"""``make eval``: the matcher measured on the labelled sets in tests/understanding/ — accuracy,
per-intent precision and recall, the confusion pairs, the out-of-scope false-accept rate; the
last line is JSON for scripts. ``python -m bot.understanding.evaluate [--locales DIR] FILE...``"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.understanding.matcher import OUT_OF_SCOPE
from bot.understanding.model import DESTRUCTIVE, Understanding

LOCALE_OF_FILE = {"zh": "zh_CN", "en": "en"}


@dataclass(frozen=True, slots=True)
class Labelled:
    text: str
    intent: str  # OUT_OF_SCOPE when none
    locale: str


def read_set(path: Path) -> list[Labelled]:
    locale = LOCALE_OF_FILE.get(path.stem, path.stem)
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        intent, _, text = line.partition("\t")
        rows.append(Labelled(text, intent.strip(), locale))
    return rows


def evaluate(understanding: Understanding, rows: Iterable[Labelled]) -> dict[str, object]:
    pairs: list[tuple[str, str, str]] = []
    for row in rows:
        intent, _ = understanding.intent(row.text, row.locale)
        pairs.append((row.intent, intent or OUT_OF_SCOPE, row.text))
    total = len(pairs)
    correct = sum(1 for gold, got, _ in pairs if gold == got)
    labels = sorted({g for g, _, _ in pairs} | {p for _, p, _ in pairs})
    per_intent: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = sum(1 for g, p, _ in pairs if g == p == label)
        predicted = sum(1 for _, p, _ in pairs if p == label)
        actual = sum(1 for g, _, _ in pairs if g == label)
        per_intent[label] = {
            "precision": tp / predicted if predicted else 1.0,
            "recall": tp / actual if actual else 1.0,
            "support": actual,
        }
    oos = [p for g, p, _ in pairs if g == OUT_OF_SCOPE]
    false_accepts = sum(1 for p in oos if p != OUT_OF_SCOPE)
    confusions = Counter((g, p) for g, p, _ in pairs if g != p)
    return {
        "total": total,
        "accuracy": correct / total if total else 0.0,
        "oos_false_accept": false_accepts / len(oos) if oos else 0.0,
        "destructive_precision": min(
            (per_intent[i]["precision"] for i in DESTRUCTIVE if i in per_intent), default=1.0
        ),
        "per_intent": per_intent,
        "confusions": [{"gold": g, "got": p, "count": n} for (g, p), n in confusions.most_common()],
        "errors": [{"text": t, "gold": g, "got": p} for g, p, t in pairs if g != p],
    }


def report(result: dict[str, object], out: object = sys.stdout) -> None:
    write = out.write  # type: ignore[attr-defined]
    write(f"{'intent':<20} {'precision':>9} {'recall':>7} {'n':>4}\n")
    per_intent: dict[str, dict[str, float]] = result["per_intent"]  # type: ignore[assignment]
    for label, m in per_intent.items():
        write(f"{label:<20} {m['precision']:>9.1%} {m['recall']:>7.1%} {int(m['support']):>4}\n")
    write("\nconfusion pairs (gold → got):\n")
    for c in result["confusions"]:  # type: ignore[attr-defined]
        write(f"  {c['gold']} → {c['got']}: {c['count']}\n")
    for e in result["errors"]:  # type: ignore[attr-defined]
        write(f"  ✗ {e['text']!r}: {e['gold']} → {e['got']}\n")
    write(
        f"\naccuracy {result['accuracy']:.1%} of {result['total']}, destructive precision "
        f"{result['destructive_precision']:.1%}, out-of-scope false accepts "
        f"{result['oos_false_accept']:.1%}\n"
    )
    summary = {
        k: result[k] for k in ("total", "accuracy", "destructive_precision", "oos_false_accept")
    }
    write(json.dumps(summary) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--locales", type=Path, default=Path("locales"))
    parser.add_argument("files", type=Path, nargs="*")
    args = parser.parse_args(argv)
    files = args.files or sorted(Path("tests/understanding").glob("*.tsv"))
    understanding = Understanding.load(args.locales)
    rows = [row for path in files for row in read_set(path)]
    report(evaluate(understanding, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
