"""HMAC-SHA256 over a timestamp and a body: how the sandbox signs its status webhooks, how
posbot checks them, and how the HTTP adapter signs its requests to a provider that asks for it.

    signature = hex(HMAC-SHA256(secret, f"{timestamp}.".encode() + body))

sent as ``X-Signature: sha256=<hex>`` beside ``X-Timestamp: <unix seconds>``. A signature is
compared in constant time; a timestamp further than ``tolerance`` seconds from now is stale."""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

TIMESTAMP_HEADER = "X-Timestamp"
SIGNATURE_HEADER = "X-Signature"
EVENT_HEADER = "X-Event-Id"
TOLERANCE_SECONDS = 300.0

Verdict = Literal["ok", "bad_signature", "stale"]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signed_headers(secret: str, timestamp: float, body: bytes) -> dict[str, str]:
    stamp = str(int(timestamp))
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(secret, stamp, body)}


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    now: float,
    tolerance: float = TOLERANCE_SECONDS,
) -> Verdict:
    """Is this body signed with ``secret``, and recently? The signature is checked first, so
    a stale answer tells nobody without the secret anything."""
    if not timestamp or not signature:
        return "bad_signature"
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        return "bad_signature"
    try:
        stamp = float(timestamp)
    except ValueError:
        return "bad_signature"
    return "stale" if abs(now - stamp) > tolerance else "ok"
