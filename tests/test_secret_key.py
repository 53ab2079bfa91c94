"""The signing key: made once and kept (a restart keeps cookies valid), or given; signatures
hold only for their purpose and their value."""

from __future__ import annotations

from pathlib import Path

from bot.secret_key import secret_key, sign, unsign
from bot.settings import Settings


def settings(tmp_path: Path, **more: object) -> Settings:
    return Settings(_env_file=None, secret_key_file=tmp_path / "var" / "key", **more)  # type: ignore[call-arg, arg-type]


def test_a_key_is_made_once_kept_private_and_reused(tmp_path: Path) -> None:
    first = secret_key(settings(tmp_path))
    assert len(first) == 32 and secret_key(settings(tmp_path)) == first
    assert (tmp_path / "var" / "key").stat().st_mode & 0o077 == 0


def test_a_given_key_wins(tmp_path: Path) -> None:
    given = secret_key(settings(tmp_path, secret_key="a-long-enough-secret-key"))
    assert given != secret_key(settings(tmp_path))
    assert not (tmp_path / "var" / "key").exists() or given != secret_key(settings(tmp_path))


def test_a_signature_holds_for_its_purpose_and_value_only() -> None:
    key = b"k" * 32
    signed = sign(key, "webchat", "visitor-1")
    assert unsign(key, "webchat", signed) == "visitor-1"
    assert unsign(key, "csrf", signed) is None
    assert unsign(key, "webchat", signed.replace("visitor-1", "visitor-2")) is None
    assert unsign(b"x" * 32, "webchat", signed) is None
    assert unsign(key, "webchat", None) is None and unsign(key, "webchat", "nodot") is None
