"""The pieces of free-text understanding, one at a time: folding (normalize.Folder), numbers into
slots (slots.find_slots), intents (matcher.Matcher through model.Understanding), and that none of
them raises on whatever a merchant pastes. The end-to-end numbers are in test_eval.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.understanding import DESTRUCTIVE, Meaning, Understanding, find_slots
from bot.understanding.answers import AnswerShape
from bot.understanding.matcher import Matcher, negated
from bot.understanding.model import DESTRUCTIVE_THRESHOLD, check_examples
from bot.understanding.normalize import NUMBER, Folder, simplified
from bot.understanding.plainly import Plainly
from bot.understanding.plainly import check as plainly_check
from bot.validation import Valid, validators

ROOT = Path(__file__).resolve().parents[2]
CHECKS = validators()
SLOT_FIELDS = {"merchant_id", "serial", "phone"}
MERCHANT, SERIAL, PHONE = "102100058120001", "LKL8A2301234", "+8613800138000"


@pytest.fixture(scope="module")
def understanding() -> Understanding:
    return Understanding.load(ROOT / "locales")


@pytest.fixture(scope="module")
def zh(understanding: Understanding) -> Folder:
    return understanding.models["zh_CN"].folder


@pytest.fixture(scope="module")
def en(understanding: Understanding) -> Folder:
    return understanding.models["en"].folder


@pytest.mark.parametrize(
    ("text", "simple"),
    [("註銷", "注销"), ("停機", "停机"), ("機身號", "机身号"), ("Cancel POS 1", "Cancel POS 1")],
)
def test_traditional_characters_become_simplified_and_ascii_stays(text: str, simple: str) -> None:
    assert simplified(text) == simple


def test_full_width_letters_and_digits_fold_to_half_width_lower_case(en: Folder) -> None:
    assert en.fold("ＣＡＮＣＥＬ") == "cancel"
    assert en.fold("ＳＵＳＰＥＮＤ ＭＹ ＴＥＲＭＩＮＡＬ") == "suspend my terminal"


def test_every_run_of_digits_folds_to_one_mark(zh: Folder) -> None:
    assert zh.fold("停机180天") == f"停机{NUMBER}天"
    assert zh.fold("１２３ＡＢＣ") == f"{NUMBER}abc"


def test_aliases_fold_typos_and_abbreviations_longest_first(zh: Folder, en: Folder) -> None:
    assert zh.fold("ＰＯＳ機") == "终端"  # "pos机" before "pos": not "终端机"
    assert zh.fold("我要注消") == "我要注销"
    assert en.fold("Cancle my POS Machine") == "cancel my terminal"


def test_an_ascii_alias_matches_whole_words_only(en: Folder) -> None:
    assert en.fold("position") == "position"
    assert en.fold("bus u") == "bus you"
    assert en.fold("book") == "book"


def test_fillers_are_dropped_only_when_other_words_remain(zh: Folder) -> None:
    assert zh.fold("請問，註銷 啊！") == "注销"
    assert zh.fold("啊") == "啊"


@pytest.mark.parametrize(
    "text",
    [
        f"商户号{MERCHANT} 机身号{SERIAL} 手机13800138000",
        f"手机13800138000 机身号{SERIAL} 商户号{MERCHANT}",
        f"{MERCHANT} {SERIAL} 13800138000",
        f"13800138000，{SERIAL}，{MERCHANT}",
        f"merchant no {MERCHANT} serial {SERIAL} phone 13800138000",
    ],
)
def test_three_numbers_in_one_line_fill_every_slot(text: str) -> None:
    assert find_slots(text, CHECKS) == {"merchant_id": MERCHANT, "serial": SERIAL, "phone": PHONE}


@pytest.mark.parametrize(
    "text",
    ["手机 138 0013 8000", "138-0013-8000", "手机号：138 0013 8000", "１３８００１３８０００"],
)
def test_a_spaced_dashed_or_full_width_phone_is_found(text: str) -> None:
    assert find_slots(text, CHECKS) == {"phone": PHONE}


def test_unlabelled_or_full_width_numbers_are_told_apart() -> None:
    found = find_slots(f"{MERCHANT} 13800138000", CHECKS)
    assert found == {"merchant_id": MERCHANT, "phone": PHONE}
    assert find_slots("商户号１０２１０００５８１２０００１", CHECKS) == {"merchant_id": MERCHANT}


def test_traditional_labels_name_their_fields() -> None:
    found = find_slots(f"手機13800138000 機身號{SERIAL}", CHECKS)
    assert found == {"phone": PHONE, "serial": SERIAL}


def test_a_label_names_the_field_and_a_digits_only_serial_needs_one() -> None:
    assert find_slots("12345678", CHECKS) == {}  # could be a serial, or anything: left out
    assert find_slots("机身号12345678", CHECKS) == {"serial": "12345678"}
    assert find_slots("SN 12345678", CHECKS) == {"serial": "12345678"}
    assert find_slots("商户号13800138000", CHECKS) == {}  # a phone where a merchant id is named


def test_a_number_that_could_be_two_fields_is_left_out() -> None:
    assert find_slots("13800138000", validators(r"\d{11}")) == {}


@pytest.mark.parametrize(
    "text",
    ["手机13800138000 手机13900139000", f"商户号{MERCHANT} 商户号102100058120002"],
)
def test_a_field_named_twice_with_different_values_is_left_out(text: str) -> None:
    assert find_slots(text, CHECKS) == {}


def test_the_same_value_twice_is_not_a_conflict() -> None:
    assert find_slots("手机13800138000 电话13800138000", CHECKS) == {"phone": PHONE}


@pytest.mark.parametrize("text", ["180 天", "3 台", "停机 2 个月", "电话 12345678901"])
def test_small_or_invalid_numbers_fill_no_slot(text: str) -> None:
    assert find_slots(text, CHECKS) == {}


@pytest.mark.parametrize(
    ("text", "locale", "intent"),
    [
        ("我想把机器退了", "zh_CN", "deregister"),
        ("先停一段时间", "zh_CN", "suspend"),
        ("押金能退吗", "zh_CN", "faq.deposit"),
        ("押金能退嗎", "zh_CN", "faq.deposit"),
        ("我想註銷", "zh_CN", "deregister"),
        ("注销好了没有", "zh_CN", "status"),
        ("不想注销了", "zh_CN", "cancel"),
        ("how long does it take", "en", "faq.duration"),
        ("Close my POS machine", "en", "deregister"),
        ("押金能退吗", "en", "faq.deposit"),  # Chinese in an English conversation
    ],
)
def test_clear_messages_are_read_as_their_intent(
    understanding: Understanding, text: str, locale: str, intent: str
) -> None:
    assert understanding.read(text, locale).intent == intent


@pytest.mark.parametrize(
    ("text", "locale"),
    [("今天天气不错", "zh_CN"), ("讲个笑话", "zh_CN"), ("what's the weather", "en"), ("", "en")],
)
def test_out_of_scope_messages_have_no_intent(
    understanding: Understanding, text: str, locale: str
) -> None:
    assert understanding.read(text, locale).intent is None


@pytest.mark.parametrize("text", ["退", "机器", "不用了", "不想用", "terminal", "end"])
def test_a_vague_message_is_not_guessed_as_a_destructive_intent(
    understanding: Understanding, text: str
) -> None:
    assert understanding.read(text, "en" if text.isascii() else "zh_CN").intent is None


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("close", "en"),
        ("remove", "en"),
        ("close it?", "en"),
        ("shut down", "en"),
        ("terminate", "en"),
        ("终端怎么办", "zh_CN"),
        ("終端怎麼辦", "zh_CN"),
    ],
)
def test_a_destructive_reading_needs_the_act_named_or_put_to_the_terminal(
    understanding: Understanding, text: str, locale: str
) -> None:
    """Regression (issue 20): a bare verb ("close") or the terminal with no act ("终端怎么办")
    scored as a deregistration; the bot now asks instead of guessing."""
    assert understanding.read(text, locale).intent is None


@pytest.mark.parametrize(
    "text",
    ["close my terminal", "I want to close my POS account", "cancel my merchant terminal"],
)
def test_the_act_put_to_the_terminal_or_account_is_a_deregistration(
    understanding: Understanding, text: str
) -> None:
    assert understanding.read(text, "en").intent == "deregister"


def test_plainly_names_suffice_acts_need_an_object() -> None:
    rule = Plainly(
        {"objects": ["terminal"], "deregister": {"names": ["deregist"], "acts": ["close"]}},
        str.lower,
    )
    assert rule.allows("deregister", "deregistration please")  # a Latin term: a word's start
    assert not rule.allows("deregister", "close") and not rule.allows("deregister", "enclose")
    assert rule.allows("deregister", "terminal, close it") and rule.allows("suspend", "x")
    good = {"objects": ["终端"], "deregister": {"names": ["注销"]}}
    assert plainly_check(good, DESTRUCTIVE) == []
    problems = plainly_check({"status": {}, "cancel": {"acts": [1]}, "objects": "x"}, DESTRUCTIVE)
    assert len(problems) == 3


@pytest.mark.parametrize("text", ["注", "销", "停", "退"])
def test_a_single_character_is_not_read_as_a_destructive_intent(
    understanding: Understanding, text: str
) -> None:
    assert understanding.read(text, "zh_CN").intent not in DESTRUCTIVE


def test_a_negation_on_one_side_only_is_told_apart_from_a_question() -> None:
    assert negated("不想注销了") and negated("i don t want it")
    assert not negated("能不能退押金") and not negated("我想注销")


def test_the_matcher_ranks_the_nearest_example_first() -> None:
    examples = [("suspend", "暂停终端"), ("suspend", "停机"), ("deregister", "注销终端")]
    matcher = Matcher([*examples, ("agent", "")])
    ranked = matcher.rank("暂停终端吧")
    assert [s.intent for s in ranked] == ["suspend", "deregister"]  # "终端" alone is in both
    assert ranked[0].score > 0.8 > 0.3 > ranked[1].score
    assert matcher.labels == {"suspend", "deregister"}  # an empty example teaches nothing
    assert matcher.rank("") == []


def test_read_finds_slots_only_when_given_validators(understanding: Understanding) -> None:
    text = f"注销 商户号{MERCHANT}"
    assert understanding.read(text, "zh_CN").slots == {}
    assert understanding.read(text, "zh_CN", CHECKS).slots == {"merchant_id": MERCHANT}


def test_an_empty_understanding_understands_nothing() -> None:
    assert Understanding.empty().read("注销", "zh_CN") == Meaning(None, 0.0, {})


NASTY = [
    "{{ 7*7 }}",
    "${7*7} <script>alert(1)</script> %s %n",
    "\x00\x1b[31m注销\x7f\u202e\ufeff",
    "\ud800 lone surrogate",
    "😀👍🙏" * 500,
    "注销" * 5000,
    "1" * 10240,
    "1 " * 5000,
    "１２３４５６７８９０" * 1000,
    "手机" + "13800138000 " * 900,
]
ANY_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="0123456789 -+商户号机身号手機電話LKLsnSN１２３😀{}\x00\u200b", max_size=120),
)


def _check_slots(found: dict[str, str]) -> None:
    assert set(found) <= SLOT_FIELDS
    for name, value in found.items():
        assert CHECKS[name](value) == Valid(value)  # what is found is valid, in canonical form


def _check_meaning(understanding: Understanding, meaning: Meaning) -> None:
    assert isinstance(meaning, Meaning)
    assert meaning.intent is None or meaning.intent in understanding.intents()
    assert 0.0 <= meaning.confidence <= 1.0 and meaning.confidence == round(meaning.confidence, 3)
    if meaning.intent in DESTRUCTIVE:
        assert meaning.confidence >= DESTRUCTIVE_THRESHOLD
    _check_slots(meaning.slots)


@pytest.mark.parametrize("text", NASTY, ids=range(len(NASTY)))
def test_long_and_hostile_text_is_read_without_raising(
    understanding: Understanding, text: str
) -> None:
    _check_slots(find_slots(text, CHECKS))
    for locale in ("zh_CN", "en", "fr"):
        _check_meaning(understanding, understanding.read(text, locale, CHECKS))


@settings(max_examples=150, deadline=None)
@given(text=ANY_TEXT)
@example(text="商户号\x00102100058120001")
def test_find_slots_never_raises_and_returns_valid_values(text: str) -> None:
    _check_slots(find_slots(text, CHECKS))


@settings(max_examples=100, deadline=None)
@given(text=ANY_TEXT, locale=st.sampled_from(["zh_CN", "en"]))
def test_read_never_raises_and_returns_a_meaning(
    understanding: Understanding, text: str, locale: str
) -> None:
    _check_meaning(understanding, understanding.read(text, locale, CHECKS))


def test_flows_check_names_a_bad_plainly_section(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "intents.yaml").write_text(
        "plainly:\n  status: {names: [where]}\nintents:\n  status: [status]\n", encoding="utf-8"
    )
    problems = check_examples(tmp_path, {"status"}, lambda locale, key: True)
    assert problems == [
        "locales/en/intents.yaml: 'plainly' names 'status': only "
        "['cancel', 'deregister', 'lang', 'restart', 'suspend'] are held back"
    ]


@pytest.mark.parametrize(
    ("text", "locale", "not_read_as"),
    [
        ("顾客说卡没问题但刷不过", "zh_CN", "yes"),  # long: it holds an answer, it is not one
        ("押金可以退回来吗", "zh_CN", "yes"),  # it asks
        ("不管它行不行", "zh_CN", "no"),
        ("card declined again, whats wrong", "en", "no"),
    ],
)
def test_a_question_holding_an_answer_word_is_not_that_answer(
    understanding: Understanding, text: str, locale: str, not_read_as: str
) -> None:
    """Regression (issue 20): "没问题", "可以", "wrong" inside a question read as yes or no,
    so at a confirmation the merchant's question would have confirmed."""
    assert understanding.read(text, locale).intent != not_read_as


def test_an_answer_is_short_and_does_not_ask() -> None:
    shape = AnswerShape(["吗", "what", "?"], str.lower)
    assert shape.fits("好的") and shape.fits("没问题 确认") and shape.fits("yes that s right")
    assert not shape.fits("押金可以退吗") and not shape.fits("ok?") and not shape.fits("what")
    assert shape.fits("somewhat ok")  # a Latin marker is a whole word
    assert not shape.fits("顾客说卡没问题但刷不过了")  # ten characters: not a bare answer
