"""The key that signs what posbot hands to browsers (the web chat's anonymous cookie, the
console's sessions and CSRF tokens).

``POSBOT_SECRET_KEY`` when it is set — every process of one deployment must share it. Otherwise
one is made on first use and kept in ``var/secret_key`` (readable by its owner only), so that
`make run` needs nothing set and a restart keeps merchants and agents signed in."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from bot.settings import Settings

KEY_BYTES = 32


def secret_key(settings: Settings) -> bytes:
    given = settings.secret_key
    if given is not None:
        return hashlib.sha256(given.get_secret_value().encode()).digest()
    return _kept(settings.secret_key_file)


def _kept(path: Path) -> bytes:
    try:
        return bytes.fromhex(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = secrets.token_bytes(KEY_BYTES)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(fresh.hex())
    try:  # two processes starting at once: the first one's key wins, both use it
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return bytes.fromhex(path.read_text().strip())


def sign(key: bytes, purpose: str, value: str) -> str:
    """``value`` with a signature that is only valid for ``purpose`` (a cookie, a form)."""
    mac = hmac.new(key, f"{purpose}\x1f{value}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{value}.{mac}"


def unsign(key: bytes, purpose: str, signed: str | None) -> str | None:
    """The value ``sign`` signed, or None when the signature is missing or wrong."""
    if not signed or "." not in signed:
        return None
    value, _, _mac = signed.rpartition(".")
    return value if hmac.compare_digest(sign(key, purpose, value), signed) else None
