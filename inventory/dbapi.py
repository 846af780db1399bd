"""The database through its plain DB-API driver (sqlite3; psycopg for PostgreSQL), for the
commands whose start-up matters: `verify` reads the inventory and writes its run here,
without importing SQLAlchemy (a third of a one-host verify's CPU went to importing it).

The tables are SQLAlchemy's (`inventory.models`, `collector.models`, created by the Alembic
migrations); rows written here are written as SQLAlchemy writes them (times as SQLite
`DateTime` text in UTC, JSON in the canonical form, booleans as SQLite integers), and the
tests read them back through the ORM and `pelihara audit verify`. The connection is set up
as `db.make_engine` sets up SQLAlchemy's (WAL, foreign keys, the busy wait), and writers
take the same lock (`locking.py`).
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pelihara.core.canonical import canonical_json
from pelihara.core.errors import BusyError, ConfigurationError, DatabaseError
from pelihara.core.schema import HEAD

# pg_advisory_xact_lock's key: any fixed 64-bit number, the same for every writer.
ADVISORY_KEY = 0x70656C6968617261  # "pelihara"
BUSY_WAIT = 30.0  # seconds a writer waits for another's change to be written (locking.py)
BUSY_MESSAGE = "the database is busy: another change is being written"
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")  # scheme://user:PASSWORD@
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy's DateTime stores a time in SQLite

READ_ONLY_CAUSE = (
    "it is read-only here: a read-only medium, or this user may not write the file or its "
    "directory; the commands that only read work: inventory list/show/export, audit verify/log, "
    "verify list/show"
)
# What a driver's message most likely means, by a piece of it (lower case).
LIKELY_CAUSES = (
    ("database is locked", "another program is writing to it; try again when it is done"),
    ("readonly", READ_ONLY_CAUSE),
    ("read-only transaction", "it was opened read-only"),
    ("unable to open database file", "the file or its directory is missing, or this user may "
                                     "not open it"),
    ("file is not a database", "it is not an SQLite database, or it is damaged or encrypted"),
    ("malformed", "the file is damaged: restore it from a backup"),
    ("disk is full", "the disk is full"),
    ("disk i/o error", "the disk or the file system failed"),
    ("no such table", "its schema is incomplete: run `pelihara init`"),
    ("connection refused", "no server listens there: is PostgreSQL running, are host and port "
                           "right?"),
    ("password authentication failed", "the user or the password is wrong"),
    ("does not exist", "the database or the user does not exist on the server"),
    ("could not translate host name", "the host name is unknown"),
    ("timeout expired", "the server did not answer in time"),
    ("permission denied", "the database user is not allowed to do this"),
)  # fmt: skip


def describe_error(origin: BaseException, label: str, path: Path | None = None) -> str:
    """One line: the database (LABEL: its file, or its masked URL), the driver's reason and
    its likely cause, without the SQL statement or its parameters (which may hold data)."""
    text = str(origin).strip()
    first_line = text.splitlines()[0] if text else type(origin).__name__
    causes = [_file_cause(path, first_line)] if path is not None else []
    causes += [cause for piece, cause in LIKELY_CAUSES if piece in first_line.lower()]
    cause = next((f" ({cause})" for cause in causes if cause), "")
    return f"database error in {label}: {first_line}{cause}"


def _file_cause(path: Path, message: str) -> str | None:
    """Why SQLite could not open or write PATH, as the file system says."""
    if "unable to open" not in message and "readonly" not in message:
        return None
    if not path.exists():
        return "there is no such file"
    if not os.access(path, os.R_OK):
        return "this user may not read the file"
    if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        return READ_ONLY_CAUSE
    return None


def is_busy(origin: BaseException) -> bool:
    """SQLite's "database is locked", PostgreSQL's lock_not_available (55P03)."""
    return getattr(origin, "sqlstate", None) == "55P03" or "database is locked" in str(origin)


@dataclass(frozen=True)
class Where:
    """A database URL as this module connects to it: SQLite's file, or PostgreSQL's URL."""

    dialect: str  # "sqlite" | "postgresql"
    path: Path | None = None  # SQLite
    url: str = ""  # PostgreSQL, for psycopg (which takes postgresql:// URLs as they are)
    label: str = "the database"  # how messages name it: the file, or the masked URL


def masked(url: str) -> str:
    """URL with any password masked, for messages and logs."""
    return _PASSWORD.sub(r"\1***@", url)


def where_of(url: str) -> Where | None:
    """The database URL names, if this module can open it; else None (the caller says so).

    SQLite files given as `sqlite:///PATH` (the default, and what `--db` usually is) and
    PostgreSQL URLs; not in-memory or URI-style SQLite URLs."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    if scheme in ("sqlite", "sqlite+pysqlite"):
        database = rest.removeprefix("/")
        if not rest.startswith("/") or not database or "?" in database or database == ":memory:":
            return None
        path = Path(os.path.abspath(Path(database).expanduser()))
        return Where("sqlite", path=path, label=str(path))
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return Where("postgresql", url="postgresql://" + rest, label=masked(url))
    return None


# Called with every statement a `Db` sends (the query-count tests count them).
STATEMENT_HOOKS: list[Callable[[str], None]] = []


class Db:
    """One DB-API connection and what differs between the two databases: placeholders,
    how a time and a JSON value are passed, the writers' lock, the last row id."""

    def __init__(self, connection: Any, where: Where, errors: type[Exception]) -> None:
        self.connection = connection
        self.where = where
        self.errors = errors  # the driver's base exception class
        self.sqlite = where.dialect == "sqlite"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run SQL (`?` placeholders on either database); the cursor."""
        return self.connection.execute(self._sql(sql), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.connection.cursor().executemany(self._sql(sql), rows)

    def insert(self, sql: str, params: Sequence[Any]) -> int:
        """Run an INSERT of one row; its id."""
        if self.sqlite:
            return int(self.connection.execute(self._sql(sql), params).lastrowid)
        return int(self.connection.execute(self._sql(sql) + " RETURNING id", params).fetchone()[0])

    def _sql(self, sql: str) -> str:
        for hook in STATEMENT_HOOKS:
            hook(sql)
        return sql if self.sqlite else sql.replace("?", "%s")

    def time(self, moment: datetime) -> Any:
        """MOMENT as the column stores it (SQLite: SQLAlchemy's text, in UTC)."""
        if self.sqlite:
            return moment.astimezone(UTC).strftime(SQLITE_TIME)
        return moment

    def json(self, value: Any) -> Any:
        """VALUE for a JSON column, in the canonical form (SQLAlchemy's `json_serializer`)."""
        if value is None:
            return None
        if self.sqlite:
            return canonical_json(value)
        from psycopg.types.json import Json

        return Json(value, dumps=canonical_json)

    def boolean(self, value: bool) -> Any:
        return int(value) if self.sqlite else value

    def lock_writes(self) -> None:
        """Take the writers' lock in this transaction (`locking.py`); BusyError when another
        writer held it longer than the busy wait."""
        try:
            if self.sqlite:
                if not self.connection.in_transaction:
                    self.connection.execute("BEGIN IMMEDIATE")
            else:
                self.connection.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_KEY,))
        except self.errors as exc:
            if is_busy(exc):
                raise BusyError(f"{BUSY_MESSAGE}; this change was rolled back: try again") from exc
            raise

    def commit(self) -> None:
        self.connection.commit()

    def rollback(self) -> None:
        self.connection.rollback()

    def read_time(self, value: Any) -> datetime:
        """A time column as read: an aware UTC datetime on either database."""
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        return datetime.strptime(str(value), SQLITE_TIME).replace(tzinfo=UTC)


def _sqlite(where: Where, busy_wait: float) -> Any:
    assert where.path is not None
    if not where.path.exists():
        raise DatabaseError(
            f"the database {where.path} is not initialised: run `pelihara init` (there is no "
            "such file)"
        )
    connection = sqlite3.connect(where.path, timeout=busy_wait, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute(f"PRAGMA busy_timeout={int(busy_wait * 1000)}")
    connection.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: no committed data is lost
    return connection


def _postgresql(where: Where, busy_wait: float) -> Any:
    import psycopg

    connection = psycopg.connect(where.url, autocommit=True)
    connection.execute(f"SET lock_timeout = {int(busy_wait * 1000)}")
    connection.autocommit = False
    return connection


def driver_errors(where: Where) -> type[Exception]:
    """The driver's base exception class (psycopg imported only for PostgreSQL)."""
    if where.dialect == "sqlite":
        return sqlite3.Error
    try:
        import psycopg
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            f"no driver for {where.label}: install pelihara[postgresql] (psycopg 3)"
        ) from exc
    return psycopg.Error


@contextmanager
def connected(where: Where, busy_wait: float) -> Iterator[Db]:
    """A connection to a database whose schema is current (else: run `pelihara init`),
    closed at the end; a driver error becomes `DatabaseError` naming the database (the
    transaction rolled back)."""
    errors = driver_errors(where)
    connection: Any = None
    try:
        connect = _sqlite if where.dialect == "sqlite" else _postgresql
        connection = connect(where, busy_wait)
        db = Db(connection, where, errors)
        _require_current(db)
        yield db
    except errors as exc:
        if connection is not None:
            connection.rollback()
        raise DatabaseError(describe_error(exc, where.label, where.path)) from exc
    finally:
        if connection is not None:
            connection.close()


def _require_current(db: Db) -> None:
    """As `migrations.require_current`: the schema is at HEAD, else run `pelihara init`."""
    label = db.where.label
    try:
        row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except db.errors as exc:
        if "alembic_version" not in str(exc):
            raise
        db.rollback()
        row = None
    revision = row[0] if row else None
    if revision == HEAD:
        return
    if revision is None:
        raise DatabaseError(f"the database {label} is not initialised: run `pelihara init`")
    raise DatabaseError(
        f"the database {label} has schema {revision}, this pelihara needs {HEAD}: "
        "run `pelihara init`"
    )
