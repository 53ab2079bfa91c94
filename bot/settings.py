"""Settings, read once by the composition root: POSBOT_* environment variables and .env."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POSBOT_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./var/posbot.db"
    sqlite_synchronous: Literal["NORMAL", "FULL", "EXTRA"] = "FULL"  # fsync every commit
    # group commit: events that arrive together share a transaction — at most this many, and
    # no more than fit in this many milliseconds, which bounds what one merchant waits
    commit_batch: int = Field(default=32, ge=1, le=1000)
    commit_batch_ms: float = Field(default=1.5, gt=0)
    default_locale: str = "zh_CN"
    provider: Literal["sandbox"] = "sandbox"
    retention_days: int = Field(default=180, ge=1)
    flows_dir: Path = PROJECT / "flows"
    locales_dir: Path = PROJECT / "locales"
    merchant_id_pattern: str | None = None  # the provider's own pattern when unset
    phone_region: str = "CN"
    demo: bool = True  # sandbox: show the one-time code in the chat, review in seconds
    sandbox_review_seconds: float = Field(default=3.0, ge=0)
    sandbox_code: str | None = Field(default=None, pattern=r"^\d{6}$")  # fixed code for scripts
    # sandbox: where it keeps what was filed at it (shared by every process pointed at it)
    sandbox_database: str = "sqlite:///./var/sandbox.db"
    poll_seconds: float = Field(default=1.0, gt=0)
    exports_dir: Path = Path("var/exports")
    log_file: Path = Path("var/posbot.log")
