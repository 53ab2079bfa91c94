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
}
# Invisible format characters (Unicode category Cf: zero-width joiners, bidi overrides such as
# U+202E, the BOM, soft hyphens, tags) break digit runs when pasted from apps: dropped. The
# ranges are Unicode 14's; tests/validation/test_text.py checks them against ``unicodedata``.
_FORMAT_RANGES: Final = (
    (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F),
    (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
    (0x110CD, 0x110CD), (0x13430, 0x13438), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001), (0xE0020, 0xE007F),
)  # fmt: skip
# Control characters other than whitespace (NUL, ESC, DEL, C1): no store or screen wants them.
_CONTROL_RANGES: Final = ((0x00, 0x08), (0x0E, 0x1B), (0x7F, 0x84), (0x86, 0x9F))
# Lone surrogates (invalid UTF-8 read with surrogateescape, "\ud800" in JSON): no encoder takes
# them, so a store would fail on every redelivery. They become U+FFFD.
_SURROGATES: Final = (0xD800, 0xDFFF)

_PUNCT_TABLE: Final = str.maketrans(
    {
        **_PUNCT,
        **{c: None for a, b in (*_FORMAT_RANGES, *_CONTROL_RANGES) for c in range(a, b + 1)},
        **{c: "\ufffd" for c in range(_SURROGATES[0], _SURROGATES[1] + 1)},
    }
)
_ASCII_CONTROL: Final = str.maketrans(
    {c: None for a, b in _CONTROL_RANGES for c in range(a, min(b, 0x7F) + 1)}
)

# Separators people put inside numbers: "1021 0005-8120 001", "(010) 1234/5678".
_COMPACT_TABLE: Final = str.maketrans("", "", " -._/()")


def normalize(text: str) -> str:
    """NFKC-fold ``text``, map common CJK punctuation to ASCII, drop invisible format and
    control characters, replace lone surrogates with U+FFFD and collapse whitespace. Never
    raises, whatever the input.

    >>> normalize("１３８　００１３。")
    '138 0013.'
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_PUNCT_TABLE)
    elif not text.isprintable():
        text = text.translate(_ASCII_CONTROL)
    return " ".join(text.split())


def compact(text: str) -> str:
    """``normalize`` then drop the separators people type inside numbers.

    >>> compact("1021 0005-8120 001")
    '102100058120001'
    """
    return normalize(text).translate(_COMPACT_TABLE)
