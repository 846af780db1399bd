"""The database: declarative base, engine and sessions (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import MetaData, Table, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from pelihara.core.canonical import canonical_json
from pelihara.core.errors import ConfigurationError, DatabaseError

# Stable constraint names, so that Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every package's tables."""

    metadata = MetaData(naming_convention=NAMING)


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class (for multi-row INSERTs that skip the ORM)."""
    return cast(Table, model.__table__)


BUSY_WAIT = 30.0  # seconds a writer waits for another's change to be written (locking.py)


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


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable database URL>"


def make_engine(url: str, busy_wait: float = BUSY_WAIT) -> Engine:
    """An engine for URL; for SQLite, the parent directory is created (0700) and WAL enabled.

    A lock held by another writer is waited for at most BUSY_WAIT seconds."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"not a database URL: {safe_url(url)}") from exc
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        # JSON columns (audit before/after, observations) are stored in the canonical form.
        engine = create_engine(parsed, json_serializer=canonical_json)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise ConfigurationError(
            f"no driver for {parsed.drivername}: install pelihara[postgresql]"
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(busy_wait))
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _postgresql_lock_timeout(busy_wait), insert=True)
    return engine


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
        raise DatabaseError(describe_database_error(exc)) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def describe_database_error(exc: SQLAlchemyError) -> str:
    """A one-line reason without the SQL statement or parameters (which may hold data)."""
    origin = getattr(exc, "orig", None) or exc
    first_line = (
        str(origin).strip().splitlines()[0] if str(origin).strip() else type(origin).__name__
    )
    return f"database error: {first_line}"
