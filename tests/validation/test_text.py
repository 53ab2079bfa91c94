import pytest

from bot.validation import compact, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("   ", ""),
        ("hello", "hello"),
        ("  a \t b\n\nc  ", "a b c"),
        ("１３８　００１３", "138 0013"),
        ("ＡＢＣ１２３", "ABC123"),
        ("商户号：１２３", "商户号:123"),
        ("你好。", "你好."),
        ("a、b", "a,b"),
        ("1021—0005–8120－001", "1021-0005-8120-001"),
        ("1‐2‑3−4", "1-2-3-4"),
        ("（010）", "(010)"),
        ("【注销】", "[注销]"),
        ("“hi”", '"hi"'),
        ("1\u200b2\ufeff3", "123"),
        ("注销 😀 终端", "注销 😀 终端"),
        ("{{ 7*7 }}", "{{ 7*7 }}"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1021 0005-8120 001", "102100058120001"),
        ("１０２１　０００５－８１２０　００１", "102100058120001"),
        ("(010) 1234/5678", "01012345678"),
        ("a_b.c", "abc"),
        ("", ""),
        ("abc", "abc"),
    ],
)
def test_compact(raw: str, expected: str) -> None:
    assert compact(raw) == expected


def test_normalize_is_idempotent_on_large_input() -> None:
    big = "１２３　😀。" * 2000
    once = normalize(big)
    assert normalize(once) == once
    assert "。" not in once


def test_every_invisible_format_character_is_dropped() -> None:
    import sys
    import unicodedata

    format_chars = [
        chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"
    ]
    assert normalize("1" + "".join(format_chars) + "2") == "12"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("138\u200c0013\u200d8000", "13800138000"),  # zero-width non-joiner / joiner
        ("1021\u202e0005", "10210005"),  # right-to-left override
        ("1\u00ad2", "12"),  # soft hyphen
        ("a\ud800b", "a\ufffdb"),  # a lone surrogate
        ("\udcff", "\ufffd"),  # invalid UTF-8 read with surrogateescape
        ("a\x00b\x1b[31mc\x7f", "ab[31mc"),  # control characters
        ("a\x85b", "a b"),  # NEL is whitespace
    ],
)
def test_invisible_and_unencodable_characters(raw: str, expected: str) -> None:
    assert normalize(raw) == expected
    normalize(raw).encode("utf-8")
