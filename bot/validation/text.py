"""Text normalisation shared by every validator and by the scam shield.

``normalize`` runs on every incoming message, so it is kept cheap: one NFKC pass (skipped
for pure ASCII), one ``str.translate`` with a table built at import, and a whitespace
collapse done by ``str.split``.
"""

from __future__ import annotations

import unicodedata
from typing import Final

__all__ = ["compact", "normalize"]

# Punctuation that NFKC leaves alone but that users type in place of ASCII.
# Keys are code points *after* NFKC (e.g. U+FF61 has already become U+3002).
_PUNCT: Final[dict[int, str | None]] = {
    0x3002: ".",  # 。 ideographic full stop
    0x3001: ",",  # 、 ideographic comma
    0x2010: "-",  # ‐ hyphen (also the NFKC form of U+2011)
    0x2012: "-",  # ‒ figure dash
    0x2013: "-",  # – en dash
    0x2014: "-",  # — em dash (also the NFKC form of U+FE58)
    0x2015: "-",  # ― horizontal bar
    0x2212: "-",  # − minus sign
    0x2E3A: "-",  # ⸺ two-em dash
    0x2E3B: "-",  # ⸻ three-em dash
    0x301C: "~",  # 〜 wave dash
    0x3030: "~",  # 〰 wavy dash
    0x2018: "'",  # ‘
    0x2019: "'",  # ’
    0x201C: '"',  # “
    0x201D: '"',  # ”
    0x300C: '"',  # 「
    0x300D: '"',  # 」
    0x300E: '"',  # 『
    0x300F: '"',  # 』
    0x3010: "[",  # 【
    0x3011: "]",  # 】
    0x3014: "(",  # 〔
    0x3015: ")",  # 〕
    0x3016: "[",  # 〖
    0x3017: "]",  # 〗
    # Invisible characters that break digit runs when pasted from apps.
    0x200B: None,  # zero width space
    0x2060: None,  # word joiner
    0xFEFF: None,  # BOM / zero width no-break space
}
_PUNCT_TABLE: Final = str.maketrans(_PUNCT)

# Separators people put inside numbers: "1021 0005-8120 001", "(010) 1234/5678".
_COMPACT_TABLE: Final = str.maketrans("", "", " -._/()")


def normalize(text: str) -> str:
    """NFKC-fold ``text``, map common CJK punctuation to ASCII and collapse whitespace.

    >>> normalize("１３８　００１３。")
    '138 0013.'
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_PUNCT_TABLE)
    return " ".join(text.split())


def compact(text: str) -> str:
    """``normalize`` then drop the separators people type inside numbers.

    >>> compact("1021 0005-8120 001")
    '102100058120001'
    """
    return normalize(text).translate(_COMPACT_TABLE)
