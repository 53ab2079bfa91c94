import pytest

from bot.validation import mask_merchant_id, mask_phone, mask_serial


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+8613800138000", "138****8000"),
        ("13800138000", "138****8000"),
        ("+86 138 0013 8000", "138****8000"),
        ("+85291234567", "912*4567"),
        ("+14155552671", "415***2671"),
        ("12345", "*2345"),
        ("1234", "1234"),
        ("+12", "12"),
        ("", ""),
        ("+", ""),
        ("abc", "abc"),
    ],
)
def test_mask_phone(raw: str, expected: str) -> None:
    assert mask_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("102100058120001", "1021*******0001"),
        ("123456789", "1234*6789"),
        ("12345678", "******78"),
        ("12", "12"),
        ("", ""),
    ],
)
def test_mask_merchant_id(raw: str, expected: str) -> None:
    assert mask_merchant_id(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("LKL8A2301234", "LKL8****1234"),
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "ABCD************************2345"),
        ("ABC123", "****23"),
        ("", ""),
    ],
)
def test_mask_serial(raw: str, expected: str) -> None:
    assert mask_serial(raw) == expected


@pytest.mark.parametrize("raw", ["😀" * 50, "{{ 7*7 }}", "+" + "9" * 30, "x" * 10_240])
def test_masks_never_raise_and_hide_something(raw: str) -> None:
    for mask in (mask_phone, mask_merchant_id, mask_serial):
        out = mask(raw)
        assert isinstance(out, str)
        assert "*" in out


def test_mask_keeps_length() -> None:
    assert len(mask_merchant_id("102100058120001")) == 15
    assert len(mask_serial("LKL8A2301234")) == 12
