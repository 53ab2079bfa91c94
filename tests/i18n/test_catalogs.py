"""Every message exists in every locale, every message is a valid template, and a message
missing from any locale fails the checks that run at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import TemplateSyntaxError

from bot.engine.checks import SYSTEM_KEYS, check_flows
from bot.engine.loader import load_flows
from bot.i18n import Catalog, resolve_locale
from bot.settings import PROJECT
from bot.validation import VALIDATOR_KEYS, validators

CATALOG = Catalog.load(PROJECT / "locales")
FLOWS = load_flows(PROJECT / "flows")


def test_both_locales_ship() -> None:
    assert sorted(CATALOG.locales) == ["en", "zh_CN"]


def test_every_locale_has_every_message() -> None:
    keys = {locale: set(texts) for locale, texts in CATALOG.messages.items()}
    every = set().union(*keys.values())
    for locale, have in keys.items():
        assert every - have == set(), f"{locale} misses {sorted(every - have)}"
        empty = [k for k in have if not CATALOG.messages[locale][k].strip()]
        assert empty == [], f"{locale} has empty messages {empty}"


def test_every_key_the_code_and_flows_use_exists() -> None:
    used = set(SYSTEM_KEYS) | set(VALIDATOR_KEYS)
    for flow in FLOWS:
        for step in flow.steps.values():
            used.update(step.message_keys())
    for locale in CATALOG.locales:
        missing = [k for k in sorted(used) if not CATALOG.has(locale, k)]
        assert missing == [], f"{locale} misses {missing}"


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_every_message_is_a_valid_template(locale: str) -> None:
    for key, text in CATALOG.messages[locale].items():
        try:
            CATALOG._env.parse(text)
        except TemplateSyntaxError as exc:  # pragma: no cover - the assertion explains
            pytest.fail(f"{locale} {key}: {exc}")


def test_a_missing_message_fails_the_checks() -> None:
    broken = {loc: dict(texts) for loc, texts in CATALOG.messages.items()}
    del broken["en"]["ask.phone"]
    del broken["zh_CN"]["system.busy"]
    errors = [str(e) for e in check_flows(FLOWS, Catalog(broken), validators())]
    assert any("ask.phone" in e and "en" in e and "termination.yaml:" in e for e in errors)
    assert any("system.busy" in e and "zh_CN" in e for e in errors)


def test_user_text_is_data_never_a_template() -> None:
    text = CATALOG.render("en", "checklist.item", {"n": 1, "total": 2, "item": "{{ 7*7 }}"})
    assert "{{ 7*7 }}" in text and "49" not in text


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("zh", "zh_CN"),
        ("zh-hans", "zh_CN"),
        ("ZH_cn", "zh_CN"),
        ("en-US", "en"),
        ("fr", "zh_CN"),
        (None, "zh_CN"),
        ("", "zh_CN"),
    ],
)
def test_platform_language_hints_resolve(hint: str | None, expected: str) -> None:
    assert resolve_locale(hint, CATALOG.locales, "zh_CN") == expected


def test_money_is_formatted_in_the_merchants_locale(tmp_path: Path) -> None:
    context = {
        "locale": "en",
        "terminal": {
            "balance": {
                "unsettled": "1280.50",
                "pending_refunds": 1,
                "pending_refund_amount": "86.00",
                "deposit": "199.00",
                "fees": "0",
                "currency": "CNY",
                "settled": False,
            }
        },
    }
    text = CATALOG.render("en", "balance.outstanding", context)
    assert "1,280.50" in text and "86.00" in text and "199.00" in text and "Fees" not in text
