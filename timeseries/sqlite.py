"""The embedded store: points in one SQLite file, no server (stdlib `sqlite3` only).

    sqlite:///relative/timeseries.db          sqlite:////var/lib/pelihara/timeseries.db

The path is everything after `sqlite:///` (SQLAlchemy's convention: four slashes for an absolute
path); `sqlite:///:memory:` is a private in-memory store. The parent directory is created 0700
and the file 0600. One table:

    points(measurement TEXT, tags TEXT, time_ns INTEGER, fields TEXT,
           PRIMARY KEY (measurement, tags, time_ns)) WITHOUT ROWID
    points_by_time(measurement, time_ns)

`tags` is the canonical tag set -- JSON, keys sorted, no spaces -- so one series is always the
same text and the key is series + timestamp. A point written again lands on its own row and
its fields are merged into the row's (`json_patch`), as InfluxDB merges the fields of one
series and timestamp: re-writing is idempotent. Field values keep their type (JSON tells int,
float, str and bool apart).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from pelihara.core.canonical import canonical_json
from pelihara.core.errors import ConfigurationError, DatabaseError
from pelihara.timeseries.base import Point, Query, StoreError, StoreUnavailable
from pelihara.timeseries.lineprotocol import write_checked
from pelihara.timeseries.selection import by_time, window_ns

PREFIX = "sqlite:///"
MEMORY = ":memory:"
BUSY_TIMEOUT_SECONDS = 30.0  # the agent and a `pelihara` command may write at the same time

_SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    measurement TEXT NOT NULL,
    tags TEXT NOT NULL,
    time_ns INTEGER NOT NULL,
    fields TEXT NOT NULL,
    PRIMARY KEY (measurement, tags, time_ns)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS points_by_time ON points (measurement, time_ns);
"""

_UPSERT = """
INSERT INTO points (measurement, tags, time_ns, fields) VALUES (?, ?, ?, ?)
ON CONFLICT (measurement, tags, time_ns) DO UPDATE SET fields = json_patch(fields, excluded.fields)
"""

# One EXISTS per wanted tag: json_each compares the decoded key and value, so no tag text
# (quotes, backslashes, unicode) has to be escaped into a JSON path or a LIKE pattern.
_TAG_FILTER = " AND EXISTS (SELECT 1 FROM json_each(points.tags) WHERE key = ? AND value = ?)"


@lru_cache(maxsize=16384)
def _tags_json(items: tuple[tuple[str, str], ...]) -> str:
    """The canonical text of a tag set, cached: series repeat from point to point."""
    return canonical_json(dict(items))


def path_from_url(url: str) -> str:
    """The file path of a `sqlite:///PATH` URL (`:memory:` for the in-memory store)."""
    if not url.startswith(PREFIX) or url == PREFIX:
        raise ConfigurationError(f"not a SQLite store URL: {url!r} (use sqlite:///PATH)")
    return url[len(PREFIX) :]


def _prepare_file(path: Path) -> None:
    """Create the parent directory (0700) and an empty file (0600) unless they exist."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


@contextmanager
def _translated(url: str) -> Iterator[None]:
    """sqlite3 and file-system errors as store errors: a locked or full database is transient."""
    try:
        yield
    except sqlite3.OperationalError as error:
        raise StoreUnavailable(f"{url}: {error}") from error
    except (sqlite3.Error, OSError) as error:
        raise StoreError(f"{url}: {error}") from error


def _connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
    )
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # WAL: a crash of the process loses nothing
    # SQLite's default page cache (2 MiB). 8 MiB made 100,000-point batches ~30 % faster
    # (bench/timeseries_write.py), but the agent writes a few dozen points at a time and a
    # cache that fills over hours would grow its memory past node_exporter's.
    db.executescript(_SCHEMA)
    return db


def _connect_read_only(path: str) -> sqlite3.Connection:
    if path == MEMORY:
        return _connect(path)
    if not Path(path).is_file():
        raise DatabaseError(
            f"no time-series store at {path}: nothing was written to it yet (`pelihara agent "
            "run` and `pelihara collect` write it)"
        )
    return sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, isolation_level=None,
                           timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)  # fmt: skip


def _row(point: Point) -> tuple[str, str, int, str]:
    tags = _tags_json(tuple(sorted(point.tags.items())))
    return point.measurement, tags, point.time_ns, canonical_json(dict(point.fields))


class SqliteStore:
    """Points in a local SQLite file; see the module docstring for the schema."""

    def __init__(self, url: str, read_only: bool = False) -> None:
        """The store at URL (a relative path is taken from the working directory, and the
        URL names it absolute). READ_ONLY (`tsdb query`): a missing file is an error, and
        nothing is created or written."""
        path = path_from_url(url)
        if path != MEMORY:
            path = os.path.abspath(path)
        self.url = PREFIX + path
        self._lock = threading.Lock()  # one connection, shared by the threads that use the store
        with _translated(self.url):
            if read_only:
                self._db = _connect_read_only(path)
            else:
                if path != MEMORY:
                    _prepare_file(Path(path))
                self._db = _connect(path)

    def __repr__(self) -> str:
        return f"SqliteStore({self.url!r})"

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, _translated(self.url):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def write(self, points: Sequence[Point]) -> None:
        """Write POINTS in one transaction; BadPointsError names the ones no store could take."""
        write_checked(points, self._insert)

    def _insert(self, points: Sequence[Point]) -> None:
        rows = [_row(point) for point in points]
        with self._transaction() as db:
            db.executemany(_UPSERT, rows)

    def query(self, query: Query) -> list[Point]:
        """The points of QUERY, by time; tags are matched in SQL."""
        start, end = window_ns(query)
        sql = "SELECT tags, time_ns, fields FROM points WHERE measurement = ?"
        sql += " AND time_ns >= ? AND time_ns < ?" + _TAG_FILTER * len(query.tags)
        params: list[object] = [query.measurement, start, end]
        for key, value in query.tags.items():
            params += [key, value]
        with self._lock, _translated(self.url):
            rows = self._db.execute(sql, params).fetchall()
        return by_time(
            Point(query.measurement, json.loads(tags), json.loads(fields), time_ns)
            for tags, time_ns, fields in rows
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()
