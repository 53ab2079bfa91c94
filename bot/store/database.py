"""Connecting to the database and bringing its schema up to date (Alembic, on start).

Several processes may share one SQLite file (a chat, a purge, an upgrade, the bot itself):

- every transaction that may write starts with BEGIN IMMEDIATE, so writers queue up for the
  write lock (up to BUSY_TIMEOUT) instead of failing when a read turns into a write — a
  deferred transaction that tries to write while another holds the lock gets "database is
  locked" at once, whatever the busy timeout says;
- WAL is switched on once, when the file is new, and the busy timeout is in place before the
  first statement a connection runs;
- migrations take the write lock around the whole upgrade, one process at a time, and a
  database already at head is recognised with a read, without taking the lock at all.

Everything that can go wrong with ``POSBOT_DATABASE_URL`` (no such driver, an async driver,
an unreachable server) is found here, at start, and raised as a ConfigError that never shows
the URL's password."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

from bot.errors import ConfigError

MIGRATIONS = Path(__file__).parent / "migrations"
SETTING = "POSBOT_DATABASE_URL"
BUSY_TIMEOUT = 30.0  # seconds a writer waits for another process's write lock
CONNECT_TIMEOUT = 5  # seconds to reach a database server
# pip packages of the drivers SQLAlchemy names by default or by "+driver"
DRIVER_PACKAGES = {
    "psycopg2": "psycopg2-binary",
    "psycopg": "psycopg[binary]",
    "pg8000": "pg8000",
    "mysqldb": "mysqlclient",
    "pymysql": "PyMySQL",
    "mariadbconnector": "mariadb",
}
SYNC_DRIVERS = "sqlite:///var/posbot.db or postgresql+psycopg://user:password@host/db"


def _sqlite_pragmas(synchronous: str) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        # switching to WAL takes an exclusive lock: only the first connection to a new file
        # does it, every later one finds it already on (the mode is stored in the file)
        if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return on_connect


READ_ONLY = "posbot_read_only"  # execution option of connections that only read


def _begin_immediate(connection: Any) -> None:
    # writers queue up at BEGIN instead of failing at COMMIT: one conversation's events are
    # handled one at a time, also across processes; readers take no write lock at all
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def shown(url: str | URL) -> str:
    """``url`` as it may be printed: without its password."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def connect(url: str, *, sqlite_synchronous: str = "FULL", setting: str = SETTING) -> Engine:
    """An engine for ``url``, connected once to prove it works; a SQLite file gets WAL, its
    directory and serialised writers. Raises ConfigError, naming ``setting`` (the variable
    that holds ``url``), on anything an operator must fix."""
    try:
        return _connect(url, sqlite_synchronous)
    except ConfigError as error:
        if setting == SETTING or error.setting != SETTING:
            raise
        raise ConfigError(error.message, setting=setting, hint=error.hint) from error.__cause__


def _connect(url: str, sqlite_synchronous: str) -> Engine:
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite":
        engine = _create(parsed, _server_options(parsed), pool_pre_ping=True)
    else:
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise ConfigError(
                    f"cannot create the folder {folder} of {shown(parsed)}: {error.strerror}",
                    setting=SETTING,
                    hint="point it at a file in a folder posbot may write to",
                ) from error
        mode = sqlite_synchronous.upper()
        if mode not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ConfigError(
                f"bad SQLite synchronous mode {sqlite_synchronous!r}",
                setting="POSBOT_SQLITE_SYNCHRONOUS",
                hint="set it to NORMAL, FULL or EXTRA",
            )
        engine = _create(parsed, {"check_same_thread": False, "timeout": BUSY_TIMEOUT})
        event.listen(engine, "connect", _sqlite_pragmas(mode))
        event.listen(engine, "begin", _begin_immediate)
    _check(engine)
    return engine


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except exc.ArgumentError as error:
        raise ConfigError(
            f"{shown(url)!r} is not a database URL",
            setting=SETTING,
            hint=f"write it as dialect+driver://user:password@host:port/database, e.g. "
            f"{SYNC_DRIVERS}",
        ) from error


def _server_options(url: URL) -> dict[str, Any]:
    if url.get_backend_name() in ("postgresql", "mysql", "mariadb") and url.get_driver_name() in (
        "psycopg2",
        "psycopg",
        "mysqldb",
        "pymysql",
    ):
        return {"connect_timeout": CONNECT_TIMEOUT}
    return {}


def _create(url: URL, connect_args: dict[str, Any], **options: Any) -> Engine:
    """create_engine, with SQLAlchemy's and the driver's refusals turned into ConfigErrors."""
    try:
        dialect = url.get_dialect()
    except exc.NoSuchModuleError as error:
        raise ConfigError(
            f"posbot does not know the database kind {url.drivername!r} ({shown(url)})",
            setting=SETTING,
            hint=f"use sqlite or postgresql, e.g. {SYNC_DRIVERS}",
        ) from error
    if getattr(dialect, "is_async", False):
        raise ConfigError(
            f"{url.drivername!r} is an asyncio driver; posbot talks to its database "
            f"synchronously ({shown(url)})",
            setting=SETTING,
            hint=f"name a synchronous driver instead, e.g. {SYNC_DRIVERS}",
        )
    try:
        # hide_parameters: a failing statement's message (and log line) must not carry phone
        # or merchant numbers
        return create_engine(url, connect_args=connect_args, hide_parameters=True, **options)
    except ImportError as error:
        driver = url.get_driver_name()
        package = DRIVER_PACKAGES.get(driver, driver)
        raise ConfigError(
            f"the database driver {driver!r} for {shown(url)} is not installed",
            setting=SETTING,
            hint=f"install it (pip install '{package}') or name a driver that is installed",
        ) from error


def _check(engine: Engine) -> None:
    """Connect now, so a server that cannot be reached stops the start with one clear line."""
    try:
        with engine.connect() as connection:
            connection.execution_options(**{READ_ONLY: True}).exec_driver_sql("SELECT 1")
    except exc.DBAPIError as error:
        engine.dispose()
        reason = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else "?"
        password = engine.url.password
        if password:
            reason = reason.replace(str(password), "***")
        hint = (
            "check that it is a posbot SQLite file that posbot may read and write"
            if engine.dialect.name == "sqlite"
            else "check that the database is running and reachable, and the URL's host, "
            "port, user, password and database name"
        )
        raise ConfigError(
            f"cannot connect to {shown(engine.url)}: {reason}", setting=SETTING, hint=hint
        ) from error


def migrate(engine: Engine) -> None:
    """Apply every Alembic migration not yet applied; cheap (one read) when there is none.

    The whole upgrade runs in one transaction that holds the write lock (BEGIN IMMEDIATE on
    SQLite, an advisory lock on PostgreSQL), so processes starting together migrate one after
    the other and each one after the first finds nothing left to do."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = set(ScriptDirectory.from_config(config).get_heads())  # read before any lock
    with engine.connect() as connection:
        applied = _applied(connection.execution_options(**{READ_ONLY: True}))
    if applied == heads:
        return
    with engine.connect() as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7305014)")  # "posbot"
        if _applied(connection) == heads:  # another process migrated while we waited
            return
        # Alembic sees a transaction already begun and leaves it to us: no commit between
        # migrations that would let another process in half-way
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _applied(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())
