"""The database: declarative base, engine and sessions (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, unquote

from sqlalchemy import MetaData, Table, create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from pelihara.core.canonical import canonical_json
from pelihara.core.errors import ConfigurationError, DatabaseError
from pelihara.core.paths import private_file
from pelihara.inventory.dbapi import BUSY_WAIT, describe_error, masked

# Stable constraint names, so that Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLITE_DRIVERS = ("sqlite", "sqlite+pysqlite")
POSTGRESQL_DRIVERS = ("postgresql", "postgres", "postgresql+psycopg")
WORKING_URLS = "sqlite:///PATH, or postgresql://USER@HOST:PORT/DB with pelihara[postgresql]"


class Base(DeclarativeBase):
    """Declarative base for every package's tables."""

    metadata = MetaData(naming_convention=NAMING)


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class (for multi-row INSERTs that skip the ORM)."""
    return cast(Table, model.__table__)


def _sqlite_pragmas(busy_wait: float) -> Callable[[sqlite3.Connection, Any], None]:
    def on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_wait * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: no committed data is lost
        cursor.close()

    return on_connect


def _postgresql_lock_timeout(busy_wait: float) -> Callable[[Any, Any], None]:
    """Bound every lock wait of the session (a writer's turn, see locking.py)."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {int(busy_wait * 1000)}")
        dbapi_connection.autocommit = autocommit

    return on_connect


def _sqlite_read_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    """A read-only connection sets no journal mode: that would be a write."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages and logs (unparsable ones too)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return masked(url)


def parse_url(url: str) -> URL:
    """URL parsed, and one of the kinds pelihara works with; else an error naming it (masked)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        reason = "the port is not a number" if "int()" in str(exc) else "cannot be parsed"
        raise ConfigurationError(
            f"not a database URL: {safe_url(url)}: {reason} (use {WORKING_URLS})"
        ) from None
    if parsed.drivername in SQLITE_DRIVERS:
        return parsed
    if parsed.drivername in POSTGRESQL_DRIVERS:
        return parsed.set(drivername="postgresql+psycopg")
    raise ConfigurationError(
        f"pelihara does not work with {parsed.drivername} databases: {safe_url(url)} "
        f"(use {WORKING_URLS})"
    )


def sqlite_path(url: URL) -> Path | None:
    """The file of an SQLite URL (None: in memory); `sqlite:///file:PATH?uri=true` too."""
    database = url.database
    if url.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
        return None
    if url.query.get("uri") in ("true", "1") and database.startswith("file:"):
        return Path(unquote(database.removeprefix("file:"))).expanduser()
    return Path(database).expanduser()


def make_engine(
    url: str, read_only: bool = False, busy_wait: float = BUSY_WAIT, create: bool = True
) -> Engine:
    """An engine for URL. SQLite: the file is created 0600 in a 0700 directory (unless not
    CREATE: then a missing file says to run `pelihara init`), WAL enabled; READ_ONLY opens
    it read-only (see `_read_only_sqlite`) and never creates it. PostgreSQL: READ_ONLY makes
    every transaction read-only. A lock held by another writer is waited for at most
    BUSY_WAIT seconds."""
    parsed = parse_url(url)
    path = sqlite_path(parsed)
    connect_args: dict[str, Any] = {}
    if path is not None and (read_only or not create) and not path.exists():
        raise not_initialised(path)
    if path is not None and read_only:
        parsed = _read_only_sqlite(parsed, path)
    elif path is not None:
        try:
            private_file(path)
        except OSError as exc:
            raise DatabaseError(f"cannot create the database {path}: {exc.strerror}") from None
    if parsed.get_backend_name() == "postgresql" and read_only:
        connect_args["options"] = "-c default_transaction_read_only=on"
    try:
        # JSON columns (audit before/after, observations) are stored in the canonical form.
        engine = create_engine(parsed, json_serializer=canonical_json, connect_args=connect_args)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise ConfigurationError(
            f"no driver for {safe_url(url)}: install pelihara[postgresql] (psycopg 3)"
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(
            engine, "connect", _sqlite_read_pragmas if read_only else _sqlite_pragmas(busy_wait)
        )
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _postgresql_lock_timeout(busy_wait), insert=True)
    return engine


def not_initialised(path: Path) -> DatabaseError:
    return DatabaseError(
        f"the database {path} is not initialised: run `pelihara init` (there is no such file)"
    )


def absolute_url(url: str) -> str:
    """URL, with the path of an SQLite file made absolute (from the working directory):
    `sqlite:///pelihara.db` run in /srv/dc is `sqlite:////srv/dc/pelihara.db`, and every
    message names that. Other URLs, and what cannot be parsed, as they are."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return url
    path = sqlite_path(parsed) if parsed.drivername in SQLITE_DRIVERS else None
    if path is None or path.is_absolute() or parsed.query.get("uri") in ("true", "1"):
        return url
    absolute = parsed.set(database=os.path.abspath(path))
    return absolute.render_as_string(hide_password=False)


def _read_only_sqlite(url: URL, path: Path) -> URL:
    """URL opening PATH read-only (SQLite `mode=ro`), for the commands that only read.

    A database in WAL mode is read through its -shm file, which SQLite creates next to it.
    Where it cannot (a read-only medium or directory: an auditor's copy) and there is none,
    the file is opened as immutable: nothing else can be writing to it there. Unless a
    non-empty -wal file lies beside it: immutable would not read it, and the changes in it
    would silently be missing.
    """
    query = {**url.query, "uri": "true", "mode": "ro"}
    shm, wal = Path(f"{path}-shm"), Path(f"{path}-wal")
    if not os.access(path.parent, os.W_OK) and not shm.exists():
        if wal.exists() and wal.stat().st_size > 0:
            raise DatabaseError(
                f"{path}: changes in {wal.name} cannot be read without {shm.name}, which "
                "cannot be created in this read-only directory: copy the database with both "
                "files, or from a database closed cleanly"
            )
        query["immutable"] = "1"
    return url.set(database=f"file:{quote(str(path.absolute()))}", query=query)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ENGINE; objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session], commit: bool = True) -> Iterator[Session]:
    """One all-or-nothing unit of work; errors become `DatabaseError`.

    Unless COMMIT, closing the session rolls everything back; objects read stay usable.
    """
    session = factory()
    try:
        yield session
        if commit:
            session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        raise DatabaseError(describe_database_error(exc, factory.kw.get("bind"))) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def database_label(engine: Engine | None) -> str:
    """How messages name a database: the file of an SQLite one, else its URL (masked)."""
    if engine is None:
        return "the database"
    path = sqlite_path(engine.url)
    if path is not None:
        return str(path)
    return engine.url.render_as_string(hide_password=True)


def describe_database_error(exc: SQLAlchemyError, engine: Engine | None = None) -> str:
    """One line: the database (file or masked URL), the driver's reason and its likely cause,
    without the SQL statement or its parameters (which may hold data)."""
    origin = getattr(exc, "orig", None) or exc
    path = sqlite_path(engine.url) if engine is not None else None
    return describe_error(origin, database_label(engine), path)
