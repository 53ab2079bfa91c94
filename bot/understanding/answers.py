"""What an answer to the question at hand looks like: short, and not a question of its own.

"好的", "没问题", "ok", "wrong" are answers; "顾客说卡没问题但刷不过", "押金可以退回来吗",
"card declined again, what's wrong" only hold one. Read as yes or no, the merchant's question
would be taken for a confirmation: a message that asks (one of the locale's ``questions:``
markers, as data in intents.yaml) or runs long is read for its other meanings instead."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

# content characters of Chinese plus words of Latin script: "不对，机身号填错了" is 8
LONGEST = 9
_CJK = re.compile(r"[^\sa-z0-9#?]")
_WORD = re.compile(r"[a-z0-9#]+")


class AnswerShape:
    def __init__(self, questions: Iterable[object], fold: Callable[[str], str]) -> None:
        markers = sorted({fold(str(q)) for q in questions} - {""}, key=len, reverse=True)
        self._asks = re.compile("|".join(_marker(m) for m in markers)) if markers else None

    def fits(self, folded: str) -> bool:
        """Could ``folded`` be a bare answer (yes, no, done, skip)?"""
        if len(_CJK.findall(folded)) + len(_WORD.findall(folded)) > LONGEST:
            return False
        return self._asks is None or self._asks.search(folded) is None


def _marker(term: str) -> str:
    escaped = re.escape(term)
    if term.isascii() and term[:1].isalpha():
        return rf"(?<![a-z]){escaped}(?![a-z])"
    return escaped
