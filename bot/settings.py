"""Settings, read once by the composition root: POSBOT_* environment variables and .env.

A value posbot cannot use is reported as a ConfigError naming its environment variable, what
is wrong with it and what it should be (``config_errors``); the CLI prints one line each."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError, ConfigErrors

PROJECT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "POSBOT_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/posbot.db",
        description="a database URL such as sqlite:///var/posbot.db or postgresql+psycopg://…",
    )
    sqlite_synchronous: Literal["NORMAL", "FULL", "EXTRA"] = Field(
        default="FULL", description="NORMAL, FULL or EXTRA"
    )  # FULL: fsync every commit
    # group commit: events that arrive together share a transaction — at most this many, and
    # no more than fit in this many milliseconds, which bounds what one merchant waits
    commit_batch: int = Field(default=32, ge=1, le=1000, description="a whole number, 1 to 1000")
    commit_batch_ms: float = Field(default=1.5, gt=0, description="milliseconds, above 0")
    default_locale: str = "zh_CN"
    provider: Literal["sandbox"] = Field(default="sandbox", description="sandbox")
    retention_days: int = Field(default=180, ge=1, description="a whole number of days, 1 or more")
    flows_dir: Path = Field(default=PROJECT / "flows", description="a folder of flow *.yaml files")
    locales_dir: Path = Field(
        default=PROJECT / "locales", description="a folder of <lang>/LC_MESSAGES/messages.po"
    )
    merchant_id_pattern: str | None = None  # the provider's own pattern when unset
    phone_region: str = "CN"
    # sandbox: show the one-time code in the chat, review in seconds
    demo: bool = Field(default=True, description="true or false")
    sandbox_review_seconds: float = Field(default=3.0, ge=0, description="seconds, 0 or more")
    sandbox_code: str | None = Field(  # fixed code for scripts
        default=None, pattern=r"^\d{6}$", description="six digits, e.g. 246810"
    )
    # sandbox: where it keeps what was filed at it (shared by every process pointed at it)
    sandbox_database: str = Field(
        default="sqlite:///./var/sandbox.db",
        description="a database URL such as sqlite:///var/sandbox.db",
    )
    poll_seconds: float = Field(default=1.0, gt=0, description="seconds, above 0")
    exports_dir: Path = Path("var/exports")
    log_file: Path = Path("var/posbot.log")


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    return f"{ENV_PREFIX}{field.upper()}"


def config_errors(exc: ValidationError) -> ConfigErrors:
    """Settings() refused the environment: one ConfigError per wrong variable, each saying
    what it should be instead."""
    errors = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        info = Settings.model_fields.get(field)
        value = _shown(field, error.get("input"))
        problem = error["msg"][:1].lower() + error["msg"][1:]
        hint = ""
        if info is not None:
            wanted = f"set it to {info.description}" if info.description else "set it right"
            default = str(info.default).lower() if isinstance(info.default, bool) else info.default
            hint = f"{wanted}, or unset it" + (
                "" if default is None else f" for the default ({default})"
            )
        errors.append(
            ConfigError(problem + value, setting=env_name(field) if field else None, hint=hint)
        )
    return ConfigErrors(errors)


def _shown(field: str, value: Any) -> str:
    # a database URL may carry a password: never echoed
    if field == "database_url" or not isinstance(value, str | int | float | bool):
        return ""
    return f" (got {str(value)[:40]!r})"


def missing_folder(field: str, folder: Path, holds: str) -> ConfigError:
    """The folder ``field`` names is not there, or holds none of what it should."""
    problem = "holds no " + holds if folder.is_dir() else "is not a folder"
    return ConfigError(
        f"{folder} {problem}",
        setting=env_name(field),
        hint=f"point it at a folder of {holds}, e.g. {Settings.model_fields[field].default}",
    )
