"""The intent matcher: nearest labelled example by TF-IDF cosine over character n-grams (1–3
characters of Chinese, words and 3-letter pieces of Latin script), blended with rapidfuzz's
edit-distance ratio for typos. Built once from the examples; a message is matched in well under a
millisecond through an inverted index. No model, no download: the examples are the model."""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

OUT_OF_SCOPE = "out_of_scope"  # a label of its own: near-misses written down as such
_LATIN = re.compile(r"[a-z#]+")
_CJK = re.compile(r"[^\sa-z0-9#]+")
# a negation on one side only: "我想注销" is not "不想注销了"
_NEGATION = re.compile(r"[不没别未勿]|(?<![a-z])(?:not|no|don t|dont|never|n t)(?![a-z])")
_A_NOT_A = re.compile(r"(.)[不没]\1")  # "能不能", "行不行": a question, not a negation
MISMATCHED_NEGATION = 0.85


def negated(folded: str) -> bool:
    return _NEGATION.search(_A_NOT_A.sub("", folded).replace("'", " ")) is not None


def features(folded: str) -> dict[str, float]:
    """Sublinear term counts of a folded text's n-grams."""
    counts: dict[str, int] = defaultdict(int)
    for run in _CJK.findall(folded):
        for n in (1, 2, 3):
            for i in range(len(run) - n + 1):
                counts["c" + run[i : i + n]] += 1
    words = _LATIN.findall(folded)
    for word in words:
        counts["w" + word] += 2
        padded = f" {word} "
        for i in range(len(padded) - 2):
            counts["l" + padded[i : i + 3]] += 1
    for a, b in itertools.pairwise(words):
        counts[f"b{a} {b}"] += 1
    return {g: 1.0 + math.log(c) for g, c in counts.items()}


@dataclass(frozen=True, slots=True)
class Scored:
    intent: str
    score: float


class Matcher:
    def __init__(self, examples: Iterable[tuple[str, str]]) -> None:
        """``examples``: (intent, folded text) pairs."""
        self.labels: set[str] = set()
        self._labels: list[str] = []
        self._texts: list[str] = []
        rows: list[dict[str, float]] = []
        for intent, text in examples:
            if text:
                self.labels.add(intent)
                self._labels.append(intent)
                self._texts.append(text)
                rows.append(features(text))
        df: dict[str, int] = defaultdict(int)
        for row in rows:
            for gram in row:
                df[gram] += 1
        n = len(rows)
        self._idf = {g: math.log((1 + n) / (1 + d)) + 1.0 for g, d in df.items()}
        # an n-gram no example has weighs as the rarest: it counts in the message's length, so
        # "押金能退吗 顺便问下你们招聘吗" is less like "押金能退吗" than the question alone
        self._unseen = math.log(1 + n) + 1.0
        # per n-gram: (example, its weight there, that weight squared), squared once here
        self._index: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
        # a short example ("是", "ok") inside a long message says little about it
        self._negated = [negated(text) for text in self._texts]
        self._short = [min(1.0, len(text.replace(" ", "")) / 3.0) for text in self._texts]
        for i, row in enumerate(rows):
            vector = self._weigh(row)
            for gram, weight in vector.items():
                self._index[gram].append((i, weight, weight * weight))
        self._index = dict(self._index)  # a lookup of an unknown n-gram must not grow it

    def _weigh(self, row: Mapping[str, float]) -> dict[str, float]:
        vector = {g: tf * self._idf.get(g, self._unseen) for g, tf in row.items()}
        norm = math.sqrt(sum(w * w for w in vector.values())) or 1.0
        return {g: w / norm for g, w in vector.items() if w}

    def rank(self, folded: str) -> Sequence[Scored]:
        """Every intent with the score of its nearest example, best first."""
        if not folded:
            return []
        vector = self._weigh(features(folded))
        # lists, not dicts: the hot loop of a message, over every example sharing an n-gram
        sims = [0.0] * len(self._texts)
        contained = [0.0] * len(self._texts)  # how much of the example the message holds
        index = self._index
        for gram, weight in vector.items():
            for i, other, squared in index.get(gram, ()):
                sims[i] += weight * other
                contained[i] += squared
        best: dict[str, float] = {}
        negation = negated(folded)
        for i in [i for i, sim in enumerate(sims) if sim >= 0.15]:
            sim = sims[i]
            ratio = fuzz.ratio(folded, self._texts[i]) / 100.0
            within = contained[i] * self._short[i]
            score = 0.45 * sim + 0.35 * within + 0.2 * ratio
            if negation != self._negated[i]:
                score *= MISMATCHED_NEGATION
            label = self._labels[i]
            if score > best.get(label, 0.0):
                best[label] = score
        return sorted((Scored(k, v) for k, v in best.items()), key=lambda s: -s.score)
