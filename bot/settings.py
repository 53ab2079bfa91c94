"""Settings, read once by the composition root: POSBOT_* environment variables and .env.

A value posbot cannot use is reported as a ConfigError naming its environment variable, what
is wrong with it and what it should be (``config_errors``); the CLI prints one line each."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError, ConfigErrors

PROJECT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "POSBOT_"
TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")  # Telegram's are 5-12 digits ":" 30+ characters
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts as secret_token
HOST = re.compile(r"[A-Za-z0-9._-]{1,253}|[0-9A-Fa-f:.]{2,45}")  # a name, IPv4 or IPv6
LOOPBACK = ("127.0.0.1", "localhost", "::1")
NEEDED = "needed"  # an error type: a setting another one needs (unsetting it does not help)
AES_KEY = re.compile(r"[A-Za-z0-9+/]{43}")  # WeChat's EncodingAESKey: 32 bytes, base64 without "="
WECHAT_TOKEN = re.compile(r"[A-Za-z0-9]{3,32}")  # what the 公众号 console accepts as Token
APPID = re.compile(r"[A-Za-z0-9_-]{1,64}")
SECRETS = frozenset(
    {
        "database_url",
        "telegram_token",
        "telegram_webhook_secret",
        "secret_key",
        "sandbox_token",
        "smtp_password",
        "sandbox_webhook_secret",
        "wechat_token",
        "wechat_secret",
        "wechat_aes_key",
    }
)  # never echoed


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
    # which provider files requests: "sandbox" (started beside posbot run / chat, over HTTP,
    # unless POSBOT_SANDBOX_URL names a running one) or the name of a providers/<name>.yaml
    provider: str = Field(
        default="sandbox",
        pattern=r"^[a-z][a-z0-9_-]{0,31}$",
        description="sandbox, or the name of a file in POSBOT_PROVIDERS_DIR, e.g. acme",
    )
    # several providers at once: merchant-number prefix (or a whole merchant number) → provider
    # name, as JSON, e.g. {"1021": "sandbox", "102100058120004": "manual"}; the longest match
    # wins, POSBOT_PROVIDER serves everyone else
    provider_routes: dict[str, str] = Field(
        default_factory=dict,
        description='JSON of merchant-number prefix to provider, e.g. {"1021": "acme"}',
    )
    providers_dir: Path = Field(
        default=PROJECT / "providers", description="a folder of provider files <name>.yaml"
    )
    # the e-mail and manual providers (POSBOT_PROVIDER=email / manual): where their requests
    # are kept, the SMTP server and addresses, and the application letter templates
    desk_database: str = Field(
        default="sqlite:///./var/desk.db",
        description="a database URL such as sqlite:///var/desk.db",
    )
    # their terminal directory: a CSV file of the operator's terminals (and, optionally, what
    # each owes); unset, an agent verifies every terminal (the demo: the sandbox's terminals)
    desk_terminals: Path | None = Field(
        default=None, description="a CSV file: merchant_id,serial,registered_phone,…"
    )
    smtp_host: str = Field(default="127.0.0.1", description="the SMTP server's host")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="a port, 1 to 65535")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(default=False, description="true or false")
    smtp_from: str = Field(default="posbot@localhost", description="the sender's address")
    provider_email: str | None = Field(
        default=None, description="the provider's address requests are mailed to"
    )
    letters_dir: Path = Field(
        default=PROJECT / "providers" / "letters",
        description="a folder of application letter templates <provider>.yaml",
    )
    # the application letter (申请函) goes to the merchant with their ticket
    letter_in_chat: bool = Field(default=True, description="true or false")
    sandbox_url: str | None = Field(
        default=None, description="the http URL of a running posbot sandbox-provider"
    )
    sandbox_token: SecretStr | None = Field(
        default=None, description="the bearer token the sandbox service asks for"
    )
    # signs the sandbox's status webhooks to posbot (made up per start when embedded)
    sandbox_webhook_secret: SecretStr | None = Field(
        default=None, min_length=16, description="a random string of 16 characters or more"
    )
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
    # a chat's replies taken on by a process are its own this long: when it dies (kill -9,
    # power), another process — or itself, restarted — sends them once this has passed
    reply_lease_seconds: float = Field(default=20.0, ge=2, description="seconds, 2 or more")
    exports_dir: Path = Path("var/exports")
    # an export too big for the merchant's channel is downloaded from posbot instead: its link
    # is valid this long, and starts with this URL (posbot's HTTP host and port when unset)
    export_link_ttl_seconds: int = Field(
        default=86400, ge=60, description="seconds, 60 or more (default 86400: a day)"
    )
    public_url: str | None = Field(
        default=None, description="the http(s) URL merchants reach posbot at, e.g. https://pos.x.cn"
    )
    log_file: Path = Path("var/posbot.log")
    # posbot run: one HTTP server for health, webhooks and (later) the console
    http_host: str = Field(
        default="127.0.0.1",
        description="an address to listen on, e.g. 127.0.0.1 or 0.0.0.0",
    )
    http_port: int = Field(default=8080, ge=1, le=65535, description="a port, 1 to 65535")
    # Telegram: the channel runs when the token is set
    telegram_token: SecretStr | None = Field(
        default=None, description="the token @BotFather gave, e.g. 123456789:AAE…"
    )
    telegram_api_base: str | None = Field(
        default=None, description="an http(s) URL of a Bot API server (default api.telegram.org)"
    )
    telegram_webhook_url: str | None = Field(
        default=None,
        description="the https URL Telegram posts updates to (http only on 127.0.0.1)",
    )
    telegram_webhook_secret: SecretStr | None = Field(
        default=None,
        validate_default=True,
        description="1 to 256 of A-Z a-z 0-9 _ - (needed with POSBOT_TELEGRAM_WEBHOOK_URL)",
    )
    telegram_runtime: Literal["aiogram", "ptb"] = Field(
        default="aiogram", description="aiogram (the default) or ptb (python-telegram-bot)"
    )
    # a Telegram group (its chat id, e.g. -1001234567890) told of every conversation that starts
    # waiting for a person
    telegram_agent_chat: int | None = Field(
        default=None, description="a Telegram chat id, e.g. -1001234567890"
    )
    # signs the web chat's cookie and the console's sessions; made and kept in the file if unset
    secret_key: SecretStr | None = Field(
        default=None, min_length=16, description="a random string of 16 characters or more"
    )
    secret_key_file: Path = Path("var/secret_key")
    # WeChat Official Account (公众号): the channel runs when token, AppID and secret are set
    wechat_token: SecretStr | None = Field(
        default=None, description="the Token of the 公众号's server settings (3 to 32 A-Z a-z 0-9)"
    )
    wechat_appid: str | None = Field(default=None, description="the 公众号's AppID, e.g. wx1234…")
    wechat_secret: SecretStr | None = Field(
        default=None, description="the 公众号's AppSecret (needed with POSBOT_WECHAT_TOKEN)"
    )
    wechat_aes_key: SecretStr | None = Field(
        default=None, description="the 43-character EncodingAESKey of safe (AES) mode"
    )
    wechat_api_base: str = Field(
        default="https://api.weixin.qq.com",
        description="the http(s) root of the WeChat API",
    )
    wechat_template_id: str | None = Field(
        default=None, description="the template for status pushes outside the 48-hour window"
    )
    wechat_template_field: str = Field(
        default="content", pattern=r"^[A-Za-z0-9_]{1,32}$", description="a template field name"
    )

    @field_validator("http_host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not HOST.fullmatch(value):
            raise PydanticCustomError("host", "is not a host name or an IP address")
        return value

    @field_validator("telegram_token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not TOKEN.fullmatch(value.get_secret_value()):
            raise PydanticCustomError("token", "is not a bot token (digits, a colon, then letters)")
        return value

    @field_validator("wechat_token")
    @classmethod
    def _wechat_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WECHAT_TOKEN.fullmatch(value.get_secret_value()):
            raise PydanticCustomError("token", "is not 3 to 32 letters and digits")
        return value

    @field_validator("wechat_appid")
    @classmethod
    def _appid(cls, value: str | None) -> str | None:
        if value is not None and not APPID.fullmatch(value):
            raise PydanticCustomError("appid", "is not an AppID (letters, digits, _ and -)")
        return value

    @field_validator("wechat_aes_key")
    @classmethod
    def _aes_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not AES_KEY.fullmatch(value.get_secret_value()):
            raise PydanticCustomError("aes_key", "is not 43 characters of A-Z a-z 0-9 + /")
        return value

    @field_validator("wechat_api_base")
    @classmethod
    def _api_base(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 (raises on a port that is not a number)
        except ValueError:
            raise PydanticCustomError("url", "is not a URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PydanticCustomError("url", "is not an http(s) URL with a host")
        if parts.query or parts.fragment:
            raise PydanticCustomError("url", "must be the API root, without a query or fragment")
        return value.rstrip("/")  # "…qq.com/" is meant as "…qq.com": paths are added to it

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        return None if value is None else cls._api_base(value)

    @property
    def public_base(self) -> str:
        """Where merchants reach posbot's HTTP app: POSBOT_PUBLIC_URL, else its host and port."""
        if self.public_url is not None:
            return self.public_url
        host = "127.0.0.1" if self.http_host in ("0.0.0.0", "::") else self.http_host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.http_port}"

    @model_validator(mode="after")
    def _wechat_complete(self) -> Settings:
        """Token, AppID and secret come together: one without the others is a mistake."""
        given = {
            "wechat_token": self.wechat_token,
            "wechat_appid": self.wechat_appid,
            "wechat_secret": self.wechat_secret,
        }
        if any(v is not None for v in given.values()):
            missing = [env_name(k) for k, v in given.items() if v is None]
            if missing:
                raise ConfigError(
                    "is needed with the other WeChat settings",
                    setting=missing[0],
                    hint="set POSBOT_WECHAT_TOKEN, _APPID and _SECRET together, or none of them",
                )
        return self

    @property
    def wechat_on(self) -> bool:
        return self.wechat_token is not None

    @field_validator("telegram_api_base", "telegram_webhook_url")
    @classmethod
    def _url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        try:
            parts = urlsplit(value)
            host = parts.hostname
            parts.port  # noqa: B018 (raises on a port that is not a number)
        except ValueError:
            raise PydanticCustomError("url", "is not a URL") from None
        if parts.scheme not in ("http", "https") or not host:
            raise PydanticCustomError("url", "is not an http(s) URL with a host")
        webhook = info.field_name == "telegram_webhook_url"
        if webhook and parts.scheme != "https" and host not in LOOPBACK:
            raise PydanticCustomError("url", "must be https (http only on 127.0.0.1)")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            if info.data.get("telegram_webhook_url"):
                raise PydanticCustomError(NEEDED, "is needed when a webhook URL is set")
            return None
        if not WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise PydanticCustomError("secret", "is not 1 to 256 of A-Z a-z 0-9 _ -")
        return value


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
            if error["type"] == NEEDED:  # unsetting it would not help
                hint = wanted
            else:
                hint = f"{wanted}, or unset it" + (
                    "" if default is None else f" for the default ({default})"
                )
        errors.append(
            ConfigError(problem + value, setting=env_name(field) if field else None, hint=hint)
        )
    return ConfigErrors(errors)


def _shown(field: str, value: Any) -> str:
    # a database URL may carry a password, a token is one: never echoed
    if field in SECRETS or not isinstance(value, str | int | float | bool):
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
