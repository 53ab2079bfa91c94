"""Who is at the console: argon2 password hashes, sessions that expire (only a hash of the
token is stored), CSRF tokens bound to the session, and limits on guessing passwords — per
agent name and per address."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.secret_key import sign, unsign
from bot.store.people import AgentRecord
from bot.store.repository import Store

SESSION_LASTS = timedelta(hours=8)
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES = {"name": 5, "address": 20}  # failed logins per window before refusing
ROLES = ("agent", "admin")
COOKIE = "posbot_console"

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not a password anyone has")  # an unknown name costs the same time


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def new_password() -> str:
    return secrets.token_urlsafe(12)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Login:
    agent: AgentRecord | None
    refused: str | None  # "limited" or "wrong": why there is no agent
    token: str | None = None


class Auth:
    def __init__(self, store: Store, key: bytes) -> None:
        self.store, self.key = store, key

    def log_in(self, name: str, password: str, address: str) -> Login:
        keys = {"name": name.lower()[:64], "address": address}
        for scope, key in keys.items():
            if self.store.login_failures(scope, key, FAILURE_WINDOW) >= MAX_FAILURES[scope]:
                return Login(None, "limited")
        agent = self.store.agent_named(name)
        try:
            _hasher.verify(agent.password_hash if agent else _DUMMY, password)
            ok = agent is not None and not agent.disabled
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or agent is None:
            self.store.add_login_failure(keys)
            return Login(None, "wrong")
        token = secrets.token_urlsafe(32)
        self.store.open_session(token_hash(token), agent.id, SESSION_LASTS)
        return Login(agent, None, token)

    def agent_of(self, token: str | None) -> AgentRecord | None:
        return None if not token else self.store.session_agent(token_hash(token))

    def log_out(self, token: str | None) -> None:
        if token:
            self.store.close_session(token_hash(token))

    def csrf_token(self, token: str) -> str:
        """A form token only valid with this session."""
        return sign(self.key, "csrf", token_hash(token)[:16])

    def csrf_ok(self, token: str | None, given: str | None) -> bool:
        return bool(token) and unsign(self.key, "csrf", given) == token_hash(token or "")[:16]


def ensure_admin(store: Store) -> str | None:
    """On a first start with no agents: an admin named "admin", and its one-time password
    (returned once, to be printed; only its hash is kept)."""
    if store.agents():
        return None
    password = new_password()
    store.add_agent("admin", "admin", hash_password(password))
    return password
