"""What tests that start posbot as a real process share: this checkout's code on the path, a
clean POSBOT_* environment with every file under the test's tmp folder, a free port."""

from __future__ import annotations

import os
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def posbot_env(tmp: Path, **settings: str) -> dict[str, str]:
    """The environment of a posbot process: nothing of the caller's POSBOT_*, everything in
    ``tmp``, plus ``settings`` (POSBOT_ names)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("POSBOT_")}
    return clean | {
        "PYTHONPATH": str(ROOT),
        "POSBOT_DATABASE_URL": f"sqlite:///{tmp / 'posbot.db'}",
        "POSBOT_SANDBOX_DATABASE": f"sqlite:///{tmp / 'sandbox.db'}",
        "POSBOT_LOG_FILE": str(tmp / "posbot.log"),
        "POSBOT_EXPORTS_DIR": str(tmp / "exports"),
        # a killed process's replies are sent by its successor after this (20 s in production)
        "POSBOT_REPLY_LEASE_SECONDS": "5",
        **settings,
    }
