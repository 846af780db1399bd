"""A durable spool under every writer: points wait in a local SQLite file until the store has them.

`add` commits points in one transaction (WAL, `synchronous=FULL`: an acknowledged add survives
a SIGKILL and a power loss). `flush` sends them oldest first, in batches, and deletes a batch
only after `Store.write` returned; a crash in between re-sends that batch, which the stores
take as the same points again (same series + timestamp; VictoriaMetrics needs
`-dedup.minScrapeInterval=1ms` for that). Store errors are handled by class (see
`timeseries.base`): refused points are bisected down to the single bad ones and set aside,
an auth error (or another that no retry fixes, e.g. a 404) keeps everything and is raised,
an unavailable store is retried later with exponential backoff.

>>> spool = Spool(data_dir() / "spool.db", open_store(url))     # doctest: +SKIP
>>> spool.add(points); spool.flush(deadline=time.monotonic() + 10)  # doctest: +SKIP
FlushResult(sent=1200, rejected=0, pending=0, error=None, deferred=False)
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from pelihara.core.canonical import canonical_json
from pelihara.core.paths import private_file
from pelihara.timeseries.base import (
    BadPointsError,
    Point,
    Store,
    StoreError,
    StoreUnavailable,
)

SCHEMA_VERSION = 1
DEFAULT_CAP = 1_000_000
DEFAULT_BATCH = 5000
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 300.0
BACKOFF_JITTER = 0.2  # a delay is cut by up to 20 %, so writers that failed together spread out
BUSY_TIMEOUT_SECONDS = 30.0  # another process (a flusher, `pelihara` status) may hold the lock

# Rows are only ever deleted from the front (oldest ids: flushed batches, points over the cap)
# and AUTOINCREMENT never reuses an id, so the ids in `points` are one contiguous range.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS points (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rejected (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    reason TEXT NOT NULL,
    rejected_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_DROPPED = "dropped_over_cap"
_DROPPED_REPORTED = "dropped_over_cap_reported"


@dataclass(frozen=True)
class SpoolStats:
    """What the spool holds and has lost; the counters survive restarts (the `meta` table)."""

    pending: int  # waiting to be sent
    dropped_over_cap: int  # oldest points dropped because the spool was full, ever
    dropped_over_cap_since_report: int  # ... since the last `Spool.report()`
    rejected: int  # refused by the store, kept in the `rejected` table, never re-sent
    last_error: StoreError | None  # what stopped the last flush; None once a write got through


@dataclass(frozen=True)
class FlushResult:
    """One flush: points the store took, points it refused, points still waiting, and why."""

    sent: int
    rejected: int
    pending: int
    error: StoreError | None = None
    deferred: bool = False  # nothing tried: the backoff after the last failure has not passed


@dataclass(frozen=True)
class RejectedPoint:
    """A point the store refused, set aside with the store's reason."""

    point: Point
    reason: str
    rejected_at: datetime


@dataclass(frozen=True)
class _Row:
    id: int
    point: Point


@dataclass(frozen=True)
class _Refused:
    row: _Row
    reason: str


def encode(point: Point) -> str:
    """POINT as stable JSON; JSON keeps int, float, str and bool field values apart."""
    data = {
        "measurement": point.measurement,
        "tags": dict(point.tags),
        "fields": dict(point.fields),
        "time_ns": point.time_ns,
    }
    return canonical_json(data)


def decode(body: str) -> Point:
    """The point that `encode` wrote."""
    data = json.loads(body)
    return Point(data["measurement"], data["tags"], data["fields"], data["time_ns"])


def backoff_seconds(failures: int, jitter: float) -> float:
    """Wait after FAILURES failures in a row: 1 s doubling to 5 min, cut by JITTER (0..1) x 20 %."""
    doublings = min(max(failures - 1, 0), 16)  # 2**16 s is far past the maximum already
    base = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2.0**doublings)
    return base * (1 - BACKOFF_JITTER * jitter)


def _connect(path: Path) -> sqlite3.Connection:
    private_file(path)  # 0600 in a 0700 directory: SQLite would create it 0644
    db = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
    )
    db.execute("PRAGMA auto_vacuum=INCREMENTAL")  # only takes effect on a new file
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # fsync the WAL at every commit: power-loss safe
    db.executescript(_SCHEMA)
    db.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,)
    )
    return db


def _meta(db: sqlite3.Connection, key: str) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row else 0


def _meta_add(db: sqlite3.Connection, key: str, amount: int) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
        (key, amount),
    )


def _meta_set(db: sqlite3.Connection, key: str, value: int) -> None:
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def _count(db: sqlite3.Connection, table: str) -> int:
    return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _pending(db: sqlite3.Connection) -> int:
    """Points in the spool, from the id range: O(log n) where COUNT(*) takes ~0.1 s at 1M."""
    first, last = db.execute("SELECT MIN(id), MAX(id) FROM points").fetchone()
    return 0 if first is None else int(last) - int(first) + 1


def _drop_over_cap(db: sqlite3.Connection, cap: int) -> int:
    """Delete the oldest points beyond CAP and count them in the meta table."""
    newest = db.execute("SELECT MAX(id) FROM points").fetchone()[0]
    if newest is None:
        return 0
    dropped = db.execute("DELETE FROM points WHERE id <= ?", (newest - cap,)).rowcount
    if dropped:
        _meta_add(db, _DROPPED, dropped)
    return dropped


def _reason(error: BadPointsError) -> str:
    """The store's own message for a single refused point, or the error's."""
    return error.rejected[0].reason if error.rejected else str(error)


class Spool:
    """Points on their way to STORE, kept in the SQLite file PATH until the store has them."""

    def __init__(
        self,
        path: Path,
        store: Store,
        cap: int = DEFAULT_CAP,
        batch: int = DEFAULT_BATCH,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if cap < 1 or batch < 1:
            raise ValueError(f"cap and batch must be positive, not {cap} and {batch}")
        self.path = path
        self.store = store
        self.cap = cap
        self.batch = batch
        self._clock = clock
        self._jitter = jitter
        self._db = _connect(path)
        self._lock = threading.Lock()  # one connection shared by threads: add never waits on I/O
        self._failures = 0
        self._next_attempt = float("-inf")
        self._last_error: StoreError | None = None

    def __enter__(self) -> Spool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the spool file (not the store: the caller opened it)."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self, begin: str = "BEGIN IMMEDIATE") -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute(begin)
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def add(self, points: Iterable[Point]) -> int:
        """Append POINTS durably in one transaction; returns how many old points the cap dropped."""
        bodies = [(encode(point),) for point in points]
        if not bodies:
            return 0
        with self._transaction() as db:
            db.executemany("INSERT INTO points (body) VALUES (?)", bodies)
            return _drop_over_cap(db, self.cap)

    def stats(self) -> SpoolStats:
        """Pending, dropped and rejected counts, and the error that stopped the last flush."""
        with self._transaction("BEGIN") as db:
            return self._stats(db)

    def report(self) -> SpoolStats:
        """`stats()`, and from now on count `dropped_over_cap_since_report` from zero."""
        with self._transaction() as db:
            stats = self._stats(db)
            _meta_set(db, _DROPPED_REPORTED, stats.dropped_over_cap)
            return stats

    def _stats(self, db: sqlite3.Connection) -> SpoolStats:
        dropped = _meta(db, _DROPPED)
        return SpoolStats(
            pending=_pending(db),
            dropped_over_cap=dropped,
            dropped_over_cap_since_report=dropped - _meta(db, _DROPPED_REPORTED),
            rejected=_count(db, "rejected"),
            last_error=self._last_error,
        )

    def rejected_points(self, limit: int = 1000) -> list[RejectedPoint]:
        """The points the store refused, oldest first, with its reasons."""
        with self._transaction("BEGIN") as db:
            rows = db.execute(
                "SELECT body, reason, rejected_at FROM rejected ORDER BY id LIMIT ?", (limit,)
            ).fetchall()
        return [RejectedPoint(decode(b), r, datetime.fromisoformat(t)) for b, r, t in rows]

    def flush(self, deadline: float | None = None, *, force: bool = False) -> FlushResult:
        """Send pending points oldest first until none is left or DEADLINE (on the spool's clock).

        The deadline is checked between batches; one write is bounded by the store's timeout.
        StoreUnavailable is returned in the result (and starts a backoff); StoreAuthError and
        any other StoreError but BadPointsError are raised. Every unsent point is kept.
        """
        if not force and self._clock() < self._next_attempt:
            return self._result(0, 0, self._last_error, deferred=True)
        sent = rejected = 0
        while deadline is None or self._clock() < deadline:
            rows = self._next_batch()
            if not rows:
                break
            try:
                refused = self._write_splitting(rows)
            except StoreUnavailable as error:
                self._back_off(error)
                return self._result(sent, rejected, error)
            except StoreError as error:  # auth (401/403) or a wrong URL (404): not transient
                # No backoff: every flush must fail loudly until the configuration is fixed.
                self._failures, self._next_attempt, self._last_error = 0, float("-inf"), error
                raise
            self._acknowledged(rows, refused)
            sent, rejected = sent + len(rows) - len(refused), rejected + len(refused)
        return self._result(sent, rejected, None)

    def _next_batch(self) -> list[_Row]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, body FROM points ORDER BY id LIMIT ?", (self.batch,)
            ).fetchall()
        return [_Row(row_id, decode(body)) for row_id, body in rows]

    def _write_splitting(self, rows: Sequence[_Row]) -> list[_Refused]:
        """Write ROWS; on refusal bisect down to the single points the store refuses.

        Re-sending the good half of a refused batch is harmless: writes are idempotent.
        """
        try:
            self.store.write([row.point for row in rows])
        except BadPointsError as error:
            if len(rows) == 1:
                return [_Refused(rows[0], _reason(error))]
            middle = len(rows) // 2
            return self._write_splitting(rows[:middle]) + self._write_splitting(rows[middle:])
        return []

    def _acknowledged(self, rows: Sequence[_Row], refused: Sequence[_Refused]) -> None:
        """The store has ROWS but REFUSED: delete the batch, keep the refused aside, atomically."""
        now = datetime.now(UTC).isoformat()
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO rejected (body, reason, rejected_at) VALUES (?, ?, ?)",
                [(encode(item.row.point), item.reason, now) for item in refused],
            )
            db.execute("DELETE FROM points WHERE id <= ?", (rows[-1].id,))
            drained = db.execute("SELECT 1 FROM points LIMIT 1").fetchone() is None
        if drained:
            self._vacuum()
        self._failures, self._next_attempt, self._last_error = 0, float("-inf"), None

    def _vacuum(self) -> None:
        """Give the pages of a drained spool back to the file system (auto_vacuum=INCREMENTAL).

        Through `executescript`: `execute` steps this pragma once, which frees one page.
        """
        with self._lock:
            self._db.executescript("PRAGMA incremental_vacuum")

    def _back_off(self, error: StoreUnavailable) -> None:
        self._failures += 1
        self._last_error = error
        self._next_attempt = self._clock() + backoff_seconds(self._failures, self._jitter())

    def _result(
        self, sent: int, rejected: int, error: StoreError | None, deferred: bool = False
    ) -> FlushResult:
        with self._lock:
            pending = _pending(self._db)
        return FlushResult(sent, rejected, pending, error, deferred)
