"""Platform access tokens, shared through the database: a token one process fetched serves
every process until it expires, so several processes do not take turns ending each other's
(WeChat keeps only the newest token of an account alive, the previous one for five minutes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update

from bot.store.repository import Store
from bot.store.tables import ACCESS_TOKEN


@dataclass(frozen=True, slots=True)
class StoredToken:
    token: str
    expires_at: datetime


class AccessTokens:
    """The tokens of one platform (``wechat``), per account (its AppID)."""

    def __init__(self, store: Store, platform: str) -> None:
        self.store = store
        self.platform = platform

    def get(self, account: str) -> StoredToken | None:
        query = select(ACCESS_TOKEN.c.token, ACCESS_TOKEN.c.expires_at).where(
            ACCESS_TOKEN.c.platform == self.platform, ACCESS_TOKEN.c.account == account
        )
        with self.store.reading() as tx:
            row = tx.connection.execute(query).first()
        if row is None:
            return None
        expires = row.expires_at
        return StoredToken(
            row.token, expires.replace(tzinfo=UTC) if expires.tzinfo is None else expires
        )

    def put(self, account: str, token: str, expires_at: datetime) -> None:
        """Keep ``token`` as the account's one (replacing any other)."""
        with self.store.transaction() as tx:
            values = {"token": token, "expires_at": expires_at, "updated_at": tx.now}
            changed = tx.connection.execute(
                update(ACCESS_TOKEN)
                .where(ACCESS_TOKEN.c.platform == self.platform, ACCESS_TOKEN.c.account == account)
                .values(**values)
            ).rowcount
            if not changed:
                tx.insert_ignore(
                    ACCESS_TOKEN, {"platform": self.platform, "account": account, **values}
                )

    def forget(self, account: str, token: str) -> None:
        """WeChat refused ``token``: nobody should use it again (a newer one stays)."""
        with self.store.transaction() as tx:
            tx.connection.execute(
                update(ACCESS_TOKEN)
                .where(
                    ACCESS_TOKEN.c.platform == self.platform,
                    ACCESS_TOKEN.c.account == account,
                    ACCESS_TOKEN.c.token == token,
                )
                .values(expires_at=datetime(1970, 1, 1, tzinfo=UTC), updated_at=tx.now)
            )
