import pytest

from bot.validation import mask_identifiers


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13800138000", "138****8000"),
        ("+86 138-0013-8000", "138****8000"),
        ("+8613800138000", "138****8000"),
        ("0086 13800138000", "138****8000"),
        ("１３８００１３８０００", "138****8000"),
        ("手机：138 0013 8000，谢谢", "手机:138****8000,谢谢"),
        ("102100058120001", "1021*******0001"),
        ("商户号 1021 0005 8120 001", "商户号 1021*******0001"),
        ("102100058120001 LKL8A2301234 13800138000", "1021*******0001 LKL8A2301234 138****8000"),
        ("102100058120001 13800138000", "1021*******0001 138****8000"),
        ("102100058120001-LKL8A2301234-138-0013-8000", "1021*******0001-LKL8A2301234-138****8000"),
    ],
)
def test_phone_and_merchant_numbers_are_masked(raw: str, masked: str) -> None:
    assert mask_identifiers(raw) == masked


@pytest.mark.parametrize(
    "raw",
    [
        "LKL8A2301234",  # a serial's digits are not a phone
        "LKL13800138000",  # glued to letters: a serial
        "+1 4155552671",  # not a CN mobile
        "12345",
        "2026-11-26",
        "[card ****1111]",
        "你好",
        "",
    ],
)
def test_other_text_is_left_alone(raw: str) -> None:
    assert mask_identifiers(raw) == raw


def test_huge_digit_runs_are_cheap() -> None:
    assert mask_identifiers("1" * 10_000) == "1" * 10_000
    assert mask_identifiers("1 " * 5000) == ("1 " * 5000).strip()
