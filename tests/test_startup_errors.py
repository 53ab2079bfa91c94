"""What an operator gets wrong at start — a setting, a folder, the database URL, a flow — is one
line per problem naming the environment variable and how to fix it, exit status 2, and never a
traceback; on every command that builds the app."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.errors import ConfigError
from bot.settings import PROJECT
from bot.store.database import connect, shown

COMMANDS = {
    "chat": ["chat", "--wait", "0"],
    "db-upgrade": ["db", "upgrade"],
    "db-purge": ["db", "purge"],
    "flows-check": ["flows", "check"],
}
BUILDING = {k: v for k, v in COMMANDS.items() if k != "flows-check"}  # these reach the database
PASSWORD = "s3cret-pw"


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A clean POSBOT_* environment with everything in tmp_path, run from there (no .env);
    the log file `posbot chat` opens in this process is closed again."""
    for name in list(os.environ):
        if name.startswith("POSBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POSBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'posbot.db'}")
    monkeypatch.setenv("POSBOT_SANDBOX_DATABASE", f"sqlite:///{tmp_path / 'sandbox.db'}")
    monkeypatch.setenv("POSBOT_LOG_FILE", str(tmp_path / "posbot.log"))
    monkeypatch.setenv("POSBOT_EXPORTS_DIR", str(tmp_path / "exports"))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in set(root.handlers) - set(handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


def refused(args: list[str], **env: str) -> list[str]:
    """Run the command with ``env`` on top; assert it was refused the operator's way and return
    the lines it printed."""
    result = CliRunner().invoke(app, args, env=env, input="")
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    assert PASSWORD not in result.output
    lines = result.stderr.splitlines()
    assert lines, result.output
    assert all(line.startswith("posbot: POSBOT_") for line in lines), lines
    return lines


BAD_VALUES = {
    "retention-zero": ("POSBOT_RETENTION_DAYS", "0", "1 or more"),
    "batch-not-a-number": ("POSBOT_COMMIT_BATCH", "abc", "a whole number"),
    "code-too-short": ("POSBOT_SANDBOX_CODE", "12", "six digits"),
    "demo-not-a-boolean": ("POSBOT_DEMO", "maybe", "true or false"),
    "unknown-telegram-runtime": ("POSBOT_TELEGRAM_RUNTIME", "telebot", "'aiogram' or 'ptb'"),
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize(("name", "value", "wanted"), BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_a_bad_setting_is_one_line_naming_its_variable(
    command: list[str], name: str, value: str, wanted: str
) -> None:
    [line] = refused(command, **{name: value})
    assert line.startswith(f"posbot: {name}: ") and repr(value) in line and wanted in line


def test_several_bad_settings_are_one_line_each() -> None:
    lines = refused(["db", "upgrade"], POSBOT_RETENTION_DAYS="0", POSBOT_COMMIT_BATCH="abc")
    assert [line.split(":")[1].strip() for line in lines] == [
        "POSBOT_COMMIT_BATCH",
        "POSBOT_RETENTION_DAYS",
    ]


def _postgres_driver() -> str | None:
    return next((d for d in ("psycopg", "psycopg2") if importlib.util.find_spec(d)), None)


BAD_URLS = {
    "async-sqlite": ("sqlite+aiosqlite:///x.db", "asyncio driver"),
    "async-postgres": (f"postgresql+asyncpg://u:{PASSWORD}@127.0.0.1/db", "asyncio driver"),
    "not-a-url": ("posbot.db", "is not a database URL"),
    "unknown-kind": (f"nosuchdb://u:{PASSWORD}@127.0.0.1/db", "does not know the database kind"),
    "sqlite-folder-is-a-file": ("sqlite:///{tmp}/not.db/x.db", "cannot create the folder"),
    "not-a-sqlite-file": ("sqlite:///{tmp}/not.db", "file is not a database"),
}
if not importlib.util.find_spec("psycopg2"):
    BAD_URLS["psycopg2-missing"] = (
        f"postgresql+psycopg2://u:{PASSWORD}@127.0.0.1/db",
        "driver 'psycopg2' for postgresql+psycopg2://u:***@127.0.0.1/db is not installed",
    )
if not importlib.util.find_spec("MySQLdb"):
    BAD_URLS["mysql-driver-missing"] = (f"mysql://u:{PASSWORD}@127.0.0.1/db", "not installed")
# port 1 refuses at once. With a PostgreSQL driver installed this is the eager connect's
# "cannot connect"; without one (as in our dev venv) it is the missing driver that must show.
BAD_URLS["postgres-unreachable"] = (
    f"postgresql://u:{PASSWORD}@127.0.0.1:1/db",
    "cannot connect to postgresql://u:***@127.0.0.1:1/db"
    if _postgres_driver()
    else "not installed",
)


@pytest.mark.parametrize("command", BUILDING.values(), ids=BUILDING.keys())
@pytest.mark.parametrize(("url", "words"), BAD_URLS.values(), ids=BAD_URLS.keys())
def test_a_bad_database_url_is_one_line_without_its_password(
    command: list[str], url: str, words: str, tmp_path: Path
) -> None:
    (tmp_path / "not.db").write_text("not a database, " * 100)
    [line] = refused(command, POSBOT_DATABASE_URL=url.format(tmp=tmp_path))
    assert line.startswith("posbot: POSBOT_DATABASE_URL: ") and words in line, line


def test_another_database_setting_is_named_by_its_own_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        connect("sqlite+aiosqlite:///s.db", setting="POSBOT_SANDBOX_DATABASE")
    assert str(caught.value).startswith("POSBOT_SANDBOX_DATABASE: ")


def test_a_password_is_never_shown() -> None:
    assert shown(f"postgresql://u:{PASSWORD}@h:5432/db") == "postgresql://u:***@h:5432/db"
    with pytest.raises(ConfigError) as caught:
        connect(f"postgresql+asyncpg://user:{PASSWORD}@h/db")
    assert PASSWORD not in str(caught.value) and caught.value.setting == "POSBOT_DATABASE_URL"


FOLDERS = {
    "locales-missing": ("POSBOT_LOCALES_DIR", "missing", "is not a folder"),
    "locales-empty": ("POSBOT_LOCALES_DIR", "empty", "holds no <lang>/LC_MESSAGES/messages.po"),
    "flows-missing": ("POSBOT_FLOWS_DIR", "missing", "is not a folder"),
    "flows-empty": ("POSBOT_FLOWS_DIR", "empty", "holds no flow files (*.yaml)"),
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize(("name", "folder", "words"), FOLDERS.values(), ids=FOLDERS.keys())
def test_a_missing_or_empty_folder_is_one_line_naming_its_variable(
    command: list[str], name: str, folder: str, words: str, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    [line] = refused(command, **{name: str(tmp_path / folder)})
    assert line.startswith(f"posbot: {name}: {tmp_path / folder} {words}"), line


def test_flows_check_refuses_an_empty_locales_folder_given_on_the_command_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "empty").mkdir()
    [line] = refused(["flows", "check", "--locales", str(tmp_path / "empty")])
    assert "holds no" in line


@pytest.mark.parametrize("command", BUILDING.values(), ids=BUILDING.keys())
def test_a_broken_flow_at_start_is_every_problem_with_its_line(
    command: list[str], tmp_path: Path
) -> None:
    shutil.copytree(PROJECT / "flows", tmp_path / "flows")
    (tmp_path / "flows" / "extra.yaml").write_text(
        "flow: extra\nsteps:\n  - id: a\n    say: end.done\n    next: nowhere\n"
        "  - id: b\n    say: end.done\n    next: elsewhere\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, command, env={"POSBOT_FLOWS_DIR": str(tmp_path / "flows")})
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert any("extra.yaml:3" in line and "nowhere" in line for line in lines), lines
    assert any("extra.yaml:6" in line and "elsewhere" in line for line in lines), lines


def test_the_real_command_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    """Through ``python -m bot``, with typer's rich tracebacks installed as they ship."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSBOT_")}
    env.update(
        PYTHONPATH=str(PROJECT),  # this checkout's code, not whatever is installed
        POSBOT_DATABASE_URL=f"postgresql+asyncpg://u:{PASSWORD}@127.0.0.1/db",
        POSBOT_LOG_FILE=str(tmp_path / "posbot.log"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("posbot: POSBOT_DATABASE_URL: ")
    assert done.stderr.count("\n") == 1 and PASSWORD not in done.stderr
