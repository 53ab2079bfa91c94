"""Provider files: ``providers/<name>.yaml`` says where an HTTP provider's API is, how posbot
authenticates (a bearer token or HMAC-signed requests), what its endpoints and fields are
called and how its request states map to posbot's — so an operator points posbot at their own
API without code. Checked at start like flows: every problem is reported with file and line.

Secrets never sit in the file: it names the environment variables that hold them
(``token_env``, ``secret_env``); ``${VAR}`` in ``base_url`` is read from the environment."""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.engine.loader import LineDict, _LineLoader, line_of
from bot.errors import ProviderFileError, ProviderFileErrors
from bot.request_states import REQUEST_STATES

EndpointName = Literal[
    "find_terminal",
    "balance",
    "send_code",
    "check_code",
    "export_records",
    "submit",
    "status",
    "cancel",
]
PLACEHOLDERS: Mapping[str, frozenset[str]] = {
    "find_terminal": frozenset({"serial"}),
    "balance": frozenset({"merchant_id", "serial"}),
    "send_code": frozenset({"merchant_id", "serial"}),
    "check_code": frozenset({"merchant_id", "serial"}),
    "export_records": frozenset({"merchant_id", "serial"}),
    "submit": frozenset(),
    "status": frozenset({"ticket"}),
    "cancel": frozenset({"ticket"}),
}
REQUIRED: tuple[str, ...] = ("find_terminal", "balance", "submit", "status")
ENDPOINT = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) (/\S*)$")
ENV = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")
ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Auth(Strict):
    kind: Literal["none", "bearer", "hmac"] = "none"
    token_env: str | None = Field(default=None, pattern=ENV_NAME)  # bearer
    secret_env: str | None = Field(default=None, pattern=ENV_NAME)  # hmac

    @model_validator(mode="after")
    def _complete(self) -> Auth:
        if self.kind == "bearer" and self.token_env is None:
            raise ValueError("a bearer auth needs token_env")
        if self.kind == "hmac" and self.secret_env is None:
            raise ValueError("an hmac auth needs secret_env")
        return self


class Retries(Strict):
    attempts: int = Field(default=4, ge=1, le=10)
    backoff_seconds: float = Field(default=0.2, gt=0, le=60)
    max_backoff_seconds: float = Field(default=5.0, gt=0, le=600)


class Breaker(Strict):
    failures: int = Field(default=3, ge=1, le=100)  # calls failed in a row that open it
    reset_seconds: float = Field(default=30.0, gt=0, le=3600)  # then one call may try


class Webhook(Strict):
    secret_env: str = Field(pattern=ENV_NAME)
    tolerance_seconds: float = Field(default=300.0, gt=0, le=3600)


class ProviderFile(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    base_url: str = Field(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    merchant_id_pattern: str = r"\d{15}"
    auth: Auth = Auth()
    retries: Retries = Retries()
    breaker: Breaker = Breaker()
    webhook: Webhook | None = None  # without one, posbot polls for status
    endpoints: dict[EndpointName, str]
    fields: dict[str, str] = {}  # posbot's name → the provider's, both ways
    states: dict[str, str] = {}  # the provider's request state → posbot's

    @model_validator(mode="after")
    def _checked(self) -> ProviderFile:
        missing = [name for name in REQUIRED if name not in self.endpoints]
        if missing:
            raise ValueError(f"endpoints {', '.join(missing)} are needed")
        for theirs, ours in self.states.items():
            if ours not in REQUEST_STATES:
                raise ValueError(f"state {theirs!r} maps to {ours!r}, not one of posbot's")
        return self

    def endpoint(self, name: str) -> tuple[str, str]:
        method, path = self.endpoints[name].split(" ", 1)  # type: ignore[index]
        return method, path


def load_provider_file(path: Path, environ: Mapping[str, str] | None = None) -> ProviderFile:
    """``path`` → a checked ProviderFile, or ProviderFileErrors naming every problem."""
    environ = os.environ if environ is None else environ
    file = str(path)
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        unread = ProviderFileError(f"cannot read: {exc.strerror}", file=file)
        raise ProviderFileErrors([unread]) from exc
    try:
        raw = yaml.load(source, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = f"not valid YAML: {getattr(exc, 'problem', exc)}"
        line = mark.line + 1 if mark else None
        raise ProviderFileErrors([ProviderFileError(problem, file=file, line=line)]) from exc
    if not isinstance(raw, LineDict):
        raise ProviderFileErrors([ProviderFileError("must be a mapping", file=file, line=1)])
    errors = _endpoint_errors(raw, file)
    data: dict[str, Any] = dict(raw)
    data.setdefault("name", path.stem)
    if isinstance(data.get("base_url"), str):
        url, unset = _expanded(data["base_url"], environ)
        for name in unset:
            line = raw.key_lines.get("base_url")
            errors.append(
                ProviderFileError(f"base_url: ${{{name}}} is not set", file=file, line=line)
            )
        data["base_url"] = url
    try:
        loaded = ProviderFile.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "file"
            line = line_of(raw, error["loc"], raw.line)
            errors.append(ProviderFileError(f"{where}: {error['msg']}", file=file, line=line))
    if errors:
        raise ProviderFileErrors(errors)
    return loaded


def _endpoint_errors(raw: LineDict, file: str) -> list[ProviderFileError]:
    """Each endpoint is "METHOD /path" with only the placeholders its call can fill."""
    endpoints = raw.get("endpoints")
    if not isinstance(endpoints, LineDict):
        return []
    errors = []
    for name, spec in endpoints.items():
        line = endpoints.key_lines.get(name)
        if name not in PLACEHOLDERS:
            continue  # the model names the unknown endpoint
        found = ENDPOINT.match(spec) if isinstance(spec, str) else None
        if found is None:
            problem = f'endpoints.{name}: is not "METHOD /path", e.g. "GET /requests/{{ticket}}"'
            errors.append(ProviderFileError(problem, file=file, line=line))
            continue
        used = {field for _, field, _, _ in string.Formatter().parse(found[2]) if field}
        extra = sorted(used - PLACEHOLDERS[name])
        if extra:
            allowed = ", ".join(sorted(PLACEHOLDERS[name])) or "none"
            problem = f"endpoints.{name}: unknown placeholder {{{extra[0]}}} (allowed: {allowed})"
            errors.append(ProviderFileError(problem, file=file, line=line))
    return errors


def _expanded(value: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    unset = [name for name in ENV.findall(value) if name not in environ]
    return ENV.sub(lambda m: environ.get(m[1], ""), value), unset
