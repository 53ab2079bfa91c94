import dataclasses

import pytest

from bot.validation import (
    MAX_INPUT,
    Invalid,
    Valid,
    Validator,
    merchant_id,
    otp,
    phone,
    serial,
    validators,
)

BIG = "1" * 10_240
ALL: dict[str, Validator] = validators()


@pytest.mark.parametrize("name", sorted(ALL))
@pytest.mark.parametrize("raw", [BIG, "x" * (MAX_INPUT + 1), "😀" * 5000, "１" * 300])
def test_too_long_first(name: str, raw: str) -> None:
    assert ALL[name](raw) == Invalid("invalid.too_long", {"max": 200})


@pytest.mark.parametrize("name", sorted(ALL))
@pytest.mark.parametrize(
    "raw", ["", " ", "abc", "😀", "{{ 7*7 }}", "${7*7}", "<script>", "\x00", "\ud800", "١٢٣٤٥٦"]
)
def test_junk_never_raises(name: str, raw: str) -> None:
    result = ALL[name](raw)
    assert isinstance(result, Invalid)
    assert result.key.startswith("invalid.")


def test_validators_keys() -> None:
    assert set(ALL) == {"merchant_id", "serial", "phone", "otp"}


def test_results_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Valid("x").value = "y"  # type: ignore[misc]
    assert Invalid("k").params == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("102100058120001", Valid("102100058120001")),
        ("1021 0005-8120 001", Valid("102100058120001")),
        ("１０２１０００５８１２０００１", Valid("102100058120001")),
        ("  102100058120001  ", Valid("102100058120001")),
        ("商户号：102100058120001", Valid("102100058120001")),
        ("商户编号: 1021 0005 8120 001", Valid("102100058120001")),
        ("商户号是102100058120001", Valid("102100058120001")),
        ("merchant no. 102100058120001", Valid("102100058120001")),
        ("Merchant ID: 102100058120001", Valid("102100058120001")),
        ("MID:102100058120001", Valid("102100058120001")),
        ("MID 102100058120001", Valid("102100058120001")),
        ("", Invalid("invalid.merchant_id.empty")),
        ("  - ", Invalid("invalid.merchant_id.empty")),
        ("商户号：", Invalid("invalid.merchant_id.empty")),
        ("abc", Invalid("invalid.merchant_id.not_digits")),
        ("10210005812000O", Invalid("invalid.merchant_id.not_digits")),
        ("{{ 7*7 }}", Invalid("invalid.merchant_id.not_digits")),
        ("1021😀0005812001", Invalid("invalid.merchant_id.not_digits")),
        ("١٠٢١٠٠٠٥٨١٢٠٠٠١", Invalid("invalid.merchant_id.not_digits")),
        ("12345", Invalid("invalid.merchant_id.length", {"expected": 15, "got": 5})),
        ("1021000581200011", Invalid("invalid.merchant_id.length", {"expected": 15, "got": 16})),
    ],
)
def test_merchant_id_default(raw: str, expected: object) -> None:
    assert merchant_id()(raw) == expected


@pytest.mark.parametrize(
    ("pattern", "raw", "expected"),
    [
        (r"[A-Z]{2}\d{6}", "AB123456", Valid("AB123456")),
        (r"[A-Z]{2}\d{6}", "MID: AB 123-456", Valid("AB123456")),
        (r"[A-Z]{2}\d{6}", "ab123456", Invalid("invalid.merchant_id.pattern")),
        (r"\d{12}", "102100058120001", Invalid("invalid.merchant_id.pattern")),
        (r"\d{12}", "१२३४५६७८९०१२", Invalid("invalid.merchant_id.pattern")),
        (r"\d{12}", "", Invalid("invalid.merchant_id.empty")),
        (r"\d{12}", "1021 0005 8120", Valid("102100058120")),
    ],
)
def test_merchant_id_custom_pattern(pattern: str, raw: str, expected: object) -> None:
    assert merchant_id(pattern)(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("LKL8A2301234", Valid("LKL8A2301234")),
        ("lkl8a-230 1234", Valid("LKL8A2301234")),
        ("ｌｋｌ８ａ２３０１２３４", Valid("LKL8A2301234")),
        ("SN: lkl8a2301234", Valid("LKL8A2301234")),
        ("序列号：LKL8A2301234", Valid("LKL8A2301234")),
        ("ABC123", Valid("ABC123")),
        ("A" * 32, Valid("A" * 32)),
        ("", Invalid("invalid.serial.empty")),
        ("--", Invalid("invalid.serial.empty")),
        ("LKL#1234", Invalid("invalid.serial.chars")),
        ("LKL8A😀1234", Invalid("invalid.serial.chars")),
        ("{{ 7*7 }}", Invalid("invalid.serial.chars")),
        ("终端LKL8A2301234", Invalid("invalid.serial.chars")),
        ("ßßßßß", Invalid("invalid.serial.chars")),
        ("AB12", Invalid("invalid.serial.length", {"min": 6, "max": 32, "got": 4})),
        ("A" * 33, Invalid("invalid.serial.length", {"min": 6, "max": 32, "got": 33})),
    ],
)
def test_serial(raw: str, expected: object) -> None:
    assert serial(raw) == expected


E164 = "+8613800138000"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+86 138 0013 8000", Valid(E164)),
        ("0086-13800138000", Valid(E164)),
        ("13800138000", Valid(E164)),
        ("１３８００１３８０００", Valid(E164)),
        ("86 13800138000", Valid(E164)),
        ("(+86) 138-0013-8000", Valid(E164)),
        ("+86 138—0013—8000", Valid(E164)),
        ("手机号：13800138000", Valid(E164)),
        ("+1 415 555 2671", Invalid("invalid.phone.region")),  # registered phones are local
        ("", Invalid("invalid.phone.unparseable")),
        ("abc", Invalid("invalid.phone.unparseable")),
        ("😀", Invalid("invalid.phone.unparseable")),
        ("13800138ABC", Invalid("invalid.phone.unparseable")),
        ("{{ 7*7 }}", Invalid("invalid.phone.unparseable")),
        ("+", Invalid("invalid.phone.unparseable")),
        ("1234", Invalid("invalid.phone.invalid")),
        ("1380013800", Invalid("invalid.phone.invalid")),
        ("+86 1380013800", Invalid("invalid.phone.invalid")),
        ("010 1234 5678", Invalid("invalid.phone.not_mobile")),
        ("+86 10 1234 5678", Invalid("invalid.phone.not_mobile")),
    ],
)
def test_phone_cn(raw: str, expected: object) -> None:
    assert phone()(raw) == expected


def test_phone_other_region() -> None:
    assert phone("HK")("9123 4567") == Valid("+85291234567")
    assert phone("HK")("+86 13800138000") == Invalid("invalid.phone.region")


def test_phone_unknown_region_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="region"):
        phone("XX")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("482913", Valid("482913")),
        (" 482 913 ", Valid("482913")),
        ("482-913", Valid("482913")),
        ("４８２９１３", Valid("482913")),
        ("code: 482913", Valid("482913")),
        ("48291", Invalid("invalid.otp.format", {"digits": 6})),
        ("4829130", Invalid("invalid.otp.format", {"digits": 6})),
        ("abc123", Invalid("invalid.otp.format", {"digits": 6})),
        ("", Invalid("invalid.otp.format", {"digits": 6})),
        ("😀😀😀😀😀😀", Invalid("invalid.otp.format", {"digits": 6})),
        ("٤٨٢٩١٣", Invalid("invalid.otp.format", {"digits": 6})),
    ],
)
def test_otp(raw: str, expected: object) -> None:
    assert otp(raw) == expected


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("SN LKL8A2301234", "LKL8A2301234"),
        ("serial LKL8A2301234", "LKL8A2301234"),
        ("serial no. lkl8a2301234", "LKL8A2301234"),
        ("机身号 LKL8A2301234", "LKL8A2301234"),
        ("机身号是LKL8A2301234", "LKL8A2301234"),
        ("SNLKL8A2301234", "SNLKL8A2301234"),  # no space: the letters may be the serial's own
    ],
)
def test_serial_label_without_colon_is_not_part_of_the_serial(raw: str, value: str) -> None:
    assert serial(raw) == Valid(value)


@pytest.mark.parametrize(
    "raw",
    ["手机号 138 0013 8000", "phone 13800138000", "手机号是13800138000", "mobile +86 13800138000"],
)
def test_phone_label_without_colon_is_dropped(raw: str) -> None:
    assert phone()(raw) == Valid(E164)
