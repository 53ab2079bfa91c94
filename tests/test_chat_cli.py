"""Scripted ``posbot chat`` runs: the demo merchants, typed the way merchants type, in both
languages, through the real command (its own process, its own SQLite file)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CODE = "135790"

# the checklist's list: "continue" by its number (six items and "all done" above it), then
# every item "done", answered by its button's number
CHECKLIST_BY_NUMBER = ["8", *["1"] * 6]

SCRIPTS = {
    # merchant 1, clean: full-width digits, spaces, dashes, +86, answers by text and by number
    "clean-zh": (
        "zh",
        ["/start", "注销终端", "１０２１０００５８１２０００１", "lkl8a 230 1234",
         "+86 138 0013 8000", "确认无误", CODE, "继续", "已完成", "已完成", "已完成", "1", "1",
         "已完成", "更换服务商", "确认提交"],
        ["申请已提交，编号 SBX-2026-000100", "已办理完成"],
    ),
    "clean-en": (
        "en",
        ["hello", "1", "1021 0005 8120 001", "LKL8A2301234", "0086 13800138000", "yes",
         CODE, "all done", "1", "submit"],
        ["Your request is filed: SBX-2026-000100", "is complete"],
    ),
    # merchant 2 owes money: once the phone is proved it is shown and must be acknowledged
    "owes-zh": (
        "zh",
        ["/deregister", "102100058120002", "PAXS90778899", "139 0013 9000", "1", CODE,
         "已知悉，继续办理", *CHECKLIST_BY_NUMBER, "2", "1"],
        ["¥1,280.50", "申请已提交", "已办理完成"],
    ),
    "owes-en": (
        "en",
        ["/deregister", "102100058120002", "paxs90778899", "+86 139-0013-9000", "1", CODE,
         "Understood, continue", *CHECKLIST_BY_NUMBER, "2", "1"],
        ["CN¥1,280.50", "Your request is filed", "is complete"],
    ),
    # merchant 3 is already deregistered: once the phone is proved, told so with the old
    # ticket; nothing is filed
    "closed-zh": (
        "zh",
        ["/start", "1", "102100058120003", "NLD900112233", "13700137000", "1", CODE],
        ["该终端已经注销", "SBX-2026-000003"],
    ),
    "closed-en": (
        "en",
        ["/start", "1", "102100058120003", "nld900112233", "+8613700137000", "1", CODE],
        ["already deregistered", "SBX-2026-000003"],
    ),
}  # fmt: skip


@pytest.mark.parametrize(("lang", "lines", "expected"), SCRIPTS.values(), ids=SCRIPTS.keys())
def test_scripted_chat_reaches_the_outcome(
    lang: str, lines: list[str], expected: list[str], tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSBOT_")}
    env.update(
        POSBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'chat.db'}",
        POSBOT_SANDBOX_CODE=CODE,
        POSBOT_SANDBOX_REVIEW_SECONDS="0.1",
        POSBOT_POLL_SECONDS="0.1",
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--lang", lang, "--wait", "20"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for text in expected:
        assert text in done.stdout, f"{text!r} not in the chat:\n{done.stdout}"
    assert "Traceback" not in done.stdout + done.stderr


def test_outside_demo_mode_no_code_or_full_phone_is_shown_or_logged(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSBOT_")}
    env.update(
        POSBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'chat.db'}",
        POSBOT_SANDBOX_CODE=CODE,
        POSBOT_DEMO="false",
    )
    lines = ["/deregister", "102100058120001", "LKL8A2301234", "13800138000", "1", CODE,
             "my card is 6228480402564890018"]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--lang", "en", "--wait", "0"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Phone verified" in done.stdout and "[sandbox SMS" not in done.stdout
    log = (tmp_path / "var" / "posbot.log").read_text(encoding="utf-8")
    assert "texted to 138****8000" in log
    for secret in (CODE, "13800138000", "6228480402564890018"):
        assert secret not in log
