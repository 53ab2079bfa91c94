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
