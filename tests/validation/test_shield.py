import time

import pytest
from stdnum import luhn

from bot.validation import Finding, hide_codes, inspect, redact_all, safe_text

MERCHANT_NO = "102100058120001"
UNIONPAY_19 = "6222021234567890128"  # Luhn-valid, UnionPay-like 62 prefix
UNIONPAY_16 = "6212345678901232"


def test_fixture_numbers_luhn() -> None:
    assert luhn.is_valid("4111111111111111")
    assert luhn.is_valid(UNIONPAY_19)
    assert luhn.is_valid(UNIONPAY_16)
    assert not luhn.is_valid(MERCHANT_NO)


@pytest.mark.parametrize(
    ("raw", "redacted"),
    [
        ("4111 1111 1111 1111", "[card ****1111]"),
        ("4111-1111-1111-1111", "[card ****1111]"),
        ("4111111111111111", "[card ****1111]"),
        ("４１１１　１１１１　１１１１　１１１１", "[card ****1111]"),
        ("卡号6222 0212 3456 7890 128谢谢", "卡号[card ****0128]谢谢"),
        (f"my card is {UNIONPAY_16}.", "my card is [card ****1232]."),
        ("card 4111 1111 1111 1111 exp 1225", "card [card ****1111] exp 1225"),
        ("4111 1111 1111 1111 2025", "[card ****1111] 2025"),
        ("a 4111111111111111 b 4111-1111-1111-1111", "a [card ****1111] b [card ****1111]"),
    ],
)
def test_card(raw: str, redacted: str) -> None:
    assert inspect(raw) == Finding(frozenset({"card"}), redacted)


@pytest.mark.parametrize(
    "raw",
    [
        MERCHANT_NO,
        "1021 0005 8120 001",
        f"商户号 {MERCHANT_NO}",
        "4111 1111 1111 1112",  # Luhn-invalid
        "13800138000",
        "+86 138 0013 8000",
        "+8613800138002",  # Luhn-valid, but a phone as Telegram shares it: "+" then digits
        "1" * 25,  # too long for a card
        "4111 11 11 1111 1111",  # not card-like grouping
    ],
)
def test_not_a_card(raw: str) -> None:
    assert inspect(raw) is None


@pytest.mark.parametrize(
    ("raw", "redacted"),
    [
        ("我的验证码是 482913", "我的验证码是 [code removed]"),
        ("我的验证码是４８２９１３", "我的验证码是[code removed]"),
        ("482913 是验证码", "[code removed] 是验证码"),
        ("短信验证码482913,5分钟内有效", "短信验证码[code removed],5分钟内有效"),
        ("校验码：1234", "校验码:[code removed]"),
        ("动态码 12345678", "动态码 [code removed]"),
        ("动态密码是123456", "动态密码是[code removed]"),
        ("口令 8888", "口令 [code removed]"),
        ("verification code: 482913", "verification code: [code removed]"),
        ("the CODE is 482913", "the CODE is [code removed]"),
        ("OTP=4829", "OTP=[code removed]"),
        ("cvv 123", "cvv [code removed]"),
        ("CVC2: 1234", "CVC2: [code removed]"),
        ("安全码 123", "安全码 [code removed]"),
    ],
)
def test_code(raw: str, redacted: str) -> None:
    assert inspect(raw) == Finding(frozenset({"code"}), redacted)


@pytest.mark.parametrize(
    "raw",
    [
        "code 123",  # three digits only next to cvv / 安全码
        "验证码 123456789",  # too many digits
        "barcode 123456",  # "code" inside a word
        "验证码发不过来, 我的订单号是 then a long gap 482913",  # too far away
        "482913",
        "我收不到验证码",
    ],
)
def test_not_a_code(raw: str) -> None:
    assert inspect(raw) is None


@pytest.mark.parametrize(
    ("raw", "redacted"),
    [
        ("password: hunter22", "password: [secret removed]"),
        ("my Password is hunter22", "my Password is [secret removed]"),
        ("PASSWORD=Tr0ub4dor&3xyzzy!", "PASSWORD=[secret removed]"),
        ("passcode 9876", "passcode [secret removed]"),
        ("PIN 1234", "PIN [secret removed]"),
        ("PIN 123456", "PIN [secret removed]"),
        ("pin: 0000", "pin: [secret removed]"),
        ("PIN码是 4321", "PIN码是 [secret removed]"),
        ("密码是abc123 谢谢", "密码是[secret removed] 谢谢"),
        ("我的密码为 888888", "我的密码为 [secret removed]"),
        ("支付密码：888888", "支付密码:[secret removed]"),
        ("取款密码 246810", "取款密码 [secret removed]"),
    ],
)
def test_password(raw: str, redacted: str) -> None:
    assert inspect(raw) == Finding(frozenset({"password"}), redacted)


@pytest.mark.parametrize(
    "raw",
    [
        "I forgot my password",
        "my password is wrong",
        "password reset please",
        "忘记密码了怎么办",
        "密码 123",  # too short
        "pin this message",  # PIN needs digits
        "spinning 1234",
    ],
)
def test_not_a_password(raw: str) -> None:
    assert inspect(raw) is None


def test_several_kinds() -> None:
    raw = "卡号 4111 1111 1111 1111, 验证码 482913, 密码: hunter22"
    finding = inspect(raw)
    assert finding == Finding(
        frozenset({"card", "code", "password"}),
        "卡号 [card ****1111], 验证码 [code removed], 密码: [secret removed]",
    )


def test_card_wins_over_code_and_pin() -> None:
    finding = inspect("PIN 4111 1111 1111 1111")
    assert finding is not None
    assert finding.kinds == {"card"}
    assert finding.redacted == "PIN [card ****1111]"


@pytest.mark.parametrize("raw", ["", "   ", "你好，我要注销终端", "😀" * 10, "{{ 7*7 }}", "\ud800"])
def test_clean_text(raw: str) -> None:
    assert inspect(raw) is None
    assert redact_all(raw) == raw


def test_redact_all() -> None:
    assert redact_all("PIN 1234") == "PIN [secret removed]"
    assert redact_all("hello  world") == "hello  world"


@pytest.mark.parametrize(
    "raw",
    [
        "1" * 10_240,
        "1111 " * 2048,
        "1 " * 5120,
        "code 1234 " * 1024,
        "password x " * 1000,
        "😀" * 10_240,
        "密码" * 5120,
        "验证码" * 3000 + "1234",
        "4111 1111 1111 1111 " * 512,
        "a" * 10_240 + "!",
    ],
)
def test_large_inputs_are_handled(raw: str) -> None:
    # speed is measured in bench/, not here; this only catches a hang (a regex backtracking
    # catastrophically takes minutes on these), with room for a loaded machine
    start = time.perf_counter()
    finding = inspect(raw)
    assert time.perf_counter() - start < 30.0
    if finding is not None:
        assert "4111 1111" not in finding.redacted
        assert "code 1234" not in finding.redacted


# -- issue 14 ---------------------------------------------------------------------------------

RESIDENT_ID = "11010519491231002X"


@pytest.mark.parametrize(
    "raw",
    [
        "102100058120001 LKL8A2301234 13800138000",
        "１０２１０００５８１２０００１　ＬＫＬ８Ａ２３０１２３４　１３８００１３８０００",
        "102100058120001-LKL8A2301234-13800138000",
        "102100058120001 LKL8A2301234 138-0013-8000",
        "102100058120001 13800138000",
        "LKL8A2301234 13800138000",
        "2301234 13800138000",
    ],
)
def test_merchant_serial_and_phone_together_are_not_a_card(raw: str) -> None:
    assert inspect(raw) is None


@pytest.mark.parametrize(
    ("raw", "redacted"),
    [
        ("3782 822463 10005", "[card ****0005]"),  # American Express, 4-6-5
        ("378282246310005", "[card ****0005]"),
        ("3056 930902 5904", "[card ****5904]"),  # Diners, 4-6-4
    ],
)
def test_other_card_groupings(raw: str, redacted: str) -> None:
    assert inspect(raw) == Finding(frozenset({"card"}), redacted)


def test_a_15_digit_number_is_a_card_only_when_american_express() -> None:
    # Luhn-valid 15 digits that are not Amex: a merchant number, not a card
    assert luhn.is_valid("102100058120010")
    assert inspect("102100058120010") is None


@pytest.mark.parametrize(
    "raw",
    [
        RESIDENT_ID,
        RESIDENT_ID.lower(),
        "110105 19491231 002X",
        "身份证号:11010519491231002X,谢谢",
        "１１０１０５１９４９１２３１００２Ｘ",
    ],
)
def test_resident_id_number(raw: str) -> None:
    finding = inspect(raw)
    assert finding is not None and finding.kinds == {"id"}
    assert "19491231" not in finding.redacted


@pytest.mark.parametrize(
    "raw",
    [
        "110105194912310021",  # wrong check digit
        "110105194913310025",  # no 13th month
        "LKL11010519491231002X",  # glued to letters: a serial
    ],
)
def test_not_a_resident_id_number(raw: str) -> None:
    finding = inspect(raw)
    assert finding is None or "id" not in finding.kinds


def test_hide_codes() -> None:
    assert hide_codes("246810") == "[code removed]"
    assert hide_codes("code 246 810, ok") == "code [code removed], ok"
    assert hide_codes("246-810") == "[code removed]"
    assert hide_codes("13800138000 LKL8A2301234") == "13800138000 LKL8A2301234"
    assert hide_codes("1021 0005 8120 001") == "1021 0005 8120 001"


def test_safe_text_redacts_masks_and_hides() -> None:
    raw = f"/help 6228 4800 1234 5671 {RESIDENT_ID} 13800138000 102100058120001 246810"
    assert safe_text(raw) == (
        "/help [card ****5671] [ID number removed] 138****8000 1021*******0001 246810"
    )
    assert safe_text(raw, codes=True).endswith("1021*******0001 [code removed]")
