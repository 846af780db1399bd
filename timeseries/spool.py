"""A durable spool under every writer: points wait in a local SQLite file until the store has them.

`add` commits points in one transaction (WAL, `synchronous=FULL`: an acknowledged add survives
a SIGKILL and a power loss). `flush` sends them oldest first, in batches, and deletes a batch
only after `Store.write` returned; a crash in between re-sends that batch, which the stores
take as the same points again (same series + timestamp; VictoriaMetrics needs
`-dedup.minScrapeInterval=1ms` for that, checked once per spool: `base.ReplayChecked`).
Store errors are handled by class (see `timeseries.base`):

- points the store names as malformed are set aside (the `rejected` table) with its reason;
- a batch refused as a whole request (HTTP 400/422) is split to find the points it minds
  (`timeseries.splitting`, at most `split_budget` requests per flush); if the store accepted
  none of those requests, it is the request it refuses, not the points: nothing is set aside,
  every point is kept, and `EveryRequestRefused` is raised;
- an auth error (or another that no retry fixes, e.g. a 404) keeps everything and is raised;
- an unavailable store is retried later with exponential backoff.

`replay_rejected` moves the set-aside points back to the queue, for after a fix.

>>> spool = Spool(data_dir() / "spool.db", open_store(url))     # doctest: +SKIP
>>> spool.add(points); spool.flush(deadline=time.monotonic() + 10)  # doctest: +SKIP
FlushResult(sent=1200, rejected=0, pending=0, error=None, deferred=False)
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from pelihara.core.canonical import canonical_json
from pelihara.timeseries.base import (
    BadPointsError,
    EveryRequestRefused,
    Point,
    RefusedRequest,
    ReplayChecked,
    Store,
    StoreError,
    StoreUnavailable,
)
from pelihara.timeseries.splitting import refused_indexes, split, takes_the_tail
from pelihara.timeseries.spoolfile import (
    DROPPED,
    DROPPED_REPORTED,
    LAST_ERROR,
    LAST_ERROR_AT,
    REFUSING,
    STORE_URL,
    connect,
    drop_over_cap,
    meta_get,
    meta_set,
    pending_count,
    row_count,
    state_get,
    state_set,
)

DEFAULT_CAP = 1_000_000
DEFAULT_BATCH = 5000
# Requests per flush spent splitting refused batches: ~2 log2(5000) = 26 find one bad point in a
# full batch; a store that refuses every request costs at most this many, plus the batch's own.
DEFAULT_SPLIT_BUDGET = 64
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 300.0
BACKOFF_JITTER = 0.2  # a delay is cut by up to 20 %, so writers that failed together spread out


@dataclass(frozen=True)
class SpoolStats:
    """What the spool holds and has lost; the counters survive restarts (the `meta` table)."""

    pending: int  # waiting to be sent
    dropped_over_cap: int  # oldest points dropped because the spool was full, ever
    dropped_over_cap_since_report: int  # ... since the last `Spool.report()`
    rejected: int  # refused by the store, kept in the `rejected` table until `replay_rejected`
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


def _to_stderr(message: str) -> None:
    sys.stderr.write(f"pelihara: warning: {message}\n")
    sys.stderr.flush()


class Spool:
    """Points on their way to STORE, kept in the SQLite file PATH until the store has them.

    WARN gets what the spool has to say once, not per flush (the store lacks de-duplication).
    """

    def __init__(
        self,
        path: Path,
        store: Store,
        cap: int = DEFAULT_CAP,
        batch: int = DEFAULT_BATCH,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        split_budget: int = DEFAULT_SPLIT_BUDGET,
        warn: Callable[[str], None] = _to_stderr,
    ) -> None:
        if cap < 1 or batch < 1 or split_budget < 1:
            raise ValueError(f"cap, batch and split_budget must be positive: {cap, batch}")
        self.path = path
        self.store = store
        self.cap = cap
        self.batch = batch
        self.split_budget = split_budget
        self._clock = clock
        self._jitter = jitter
        self._warn = warn
        self._db = connect(path)
        self._lock = threading.Lock()  # one connection shared by threads: add never waits on I/O
        self._failures = 0
        self._next_attempt = float("-inf")
        self._last_error: StoreError | None = None
        self._replay_checked = False
        self._budget = split_budget
        self._record_store_url()
        with self._lock:  # the reason of the last EveryRequestRefused, also from before a restart
            self._refusing = state_get(self._db, REFUSING)

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

    def _record_store_url(self) -> None:
        """Note which store this spool feeds (its URL as shown: never a password)."""
        with self._lock:
            recorded = state_get(self._db, STORE_URL)
        if recorded != self.store.url:
            with self._transaction() as db:
                state_set(db, STORE_URL, self.store.url)

    def add(self, points: Iterable[Point]) -> int:
        """Append POINTS durably in one transaction; returns how many old points the cap dropped."""
        bodies = [(encode(point),) for point in points]
        if not bodies:
            return 0
        with self._transaction() as db:
            db.executemany("INSERT INTO points (body) VALUES (?)", bodies)
            return drop_over_cap(db, self.cap)

    def stats(self) -> SpoolStats:
        """Pending, dropped and rejected counts, and the error that stopped the last flush."""
        with self._transaction("BEGIN") as db:
            return self._stats(db)

    def report(self) -> SpoolStats:
        """`stats()`, and from now on count `dropped_over_cap_since_report` from zero."""
        with self._transaction() as db:
            stats = self._stats(db)
            meta_set(db, DROPPED_REPORTED, stats.dropped_over_cap)
            return stats

    def _stats(self, db: sqlite3.Connection) -> SpoolStats:
        dropped = meta_get(db, DROPPED)
        return SpoolStats(
            pending=pending_count(db),
            dropped_over_cap=dropped,
            dropped_over_cap_since_report=dropped - meta_get(db, DROPPED_REPORTED),
            rejected=row_count(db, "rejected"),
            last_error=self._last_error,
        )

    def rejected_points(self, limit: int = 1000) -> list[RejectedPoint]:
        """The points the store refused, oldest first, with its reasons."""
        with self._transaction("BEGIN") as db:
            rows = db.execute(
                "SELECT body, reason, rejected_at FROM rejected ORDER BY id LIMIT ?", (limit,)
            ).fetchall()
        return [RejectedPoint(decode(b), r, datetime.fromisoformat(t)) for b, r, t in rows]

    def replay_rejected(self) -> int:
        """Put every set-aside point back at the end of the queue (after the store was fixed),
        and lift the backoff; returns how many. The next flush sends them, or sets aside again
        those the store still refuses; a point the store already has is kept once."""
        with self._transaction() as db:
            moved = db.execute(
                "INSERT INTO points (body) SELECT body FROM rejected ORDER BY id"
            ).rowcount
            db.execute("DELETE FROM rejected")
            drop_over_cap(db, self.cap)
            db.execute("DELETE FROM state WHERE key = ?", (REFUSING,))
        self._failures, self._next_attempt, self._refusing = 0, float("-inf"), None
        return moved

    def flush(self, deadline: float | None = None, *, force: bool = False) -> FlushResult:
        """Send pending points oldest first until none is left or DEADLINE (on the spool's clock).

        The deadline is checked between batches; one write is bounded by the store's timeout.
        A flush that spent its split budget stops early: the rest waits for the next one.
        StoreUnavailable is returned in the result (and starts a backoff); EveryRequestRefused,
        StoreAuthError and any other StoreError but BadPointsError are raised. Every unsent
        point is kept.
        """
        if not force and self._clock() < self._next_attempt:
            return self._result(0, 0, self._last_error, deferred=True)
        sent = rejected = 0
        self._budget = self.split_budget
        while deadline is None or self._clock() < deadline:
            rows = self._next_batch()
            if not rows:
                break
            try:
                settled, refused = self._write_batch(rows)
            except StoreUnavailable as error:
                self._back_off(error)
                return self._result(sent, rejected, error)
            except StoreError as error:  # not transient: refused requests, auth, a wrong URL
                self._fail_loudly(error)
                raise
            if settled:
                self._acknowledged(rows[:settled], refused)
            sent, rejected = sent + settled - len(refused), rejected + len(refused)
            if settled < len(rows):  # the split budget is spent
                break
        return self._result(sent, rejected, None)

    def _next_batch(self) -> list[_Row]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, body FROM points ORDER BY id LIMIT ?", (self.batch,)
            ).fetchall()
        return [_Row(row_id, decode(body)) for row_id, body in rows]

    def _write_batch(self, rows: Sequence[_Row]) -> tuple[int, list[_Refused]]:
        """Write ROWS: how many of them (from the first) are settled, and those refused."""
        points = [row.point for row in rows]
        try:
            self.store.write(points)
        except RefusedRequest as error:
            return self._split(rows, error)
        except BadPointsError as error:  # exactly these refused, the others written
            return len(rows), [
                _Refused(rows[i], reason) for i, reason in refused_indexes(points, error)
            ]
        return len(rows), []

    def _split(self, rows: Sequence[_Row], error: RefusedRequest) -> tuple[int, list[_Refused]]:
        """Find the refused points of ROWS, or raise EveryRequestRefused if none was accepted.

        The reason of the last EveryRequestRefused, heard again, is split anew only if the
        store takes the second half of the batch: one request, not a whole split, per flush
        while a store goes on refusing everything. A split cut short by a budget that earlier
        batches of the flush spent proves nothing: the batch waits for the next flush.
        Re-sending points is harmless: writes are idempotent.
        """
        points, requests = [row.point for row in rows], 1
        whole_budget = self._budget == self.split_budget  # no other batch spent some of it
        if error.reason == self._refusing:
            probe = min(len(points) - 1, 1)  # a single point: nothing to probe
            requests, self._budget = requests + probe, self._budget - probe
            if not takes_the_tail(points, self.store.write):
                raise EveryRequestRefused(self.store.url, error.reason, len(rows), requests)
        found = split(points, self.store.write, max(self._budget, 0))
        self._budget -= found.requests
        if found.accepted:
            return found.settled, [_Refused(rows[i], reason) for i, reason in found.refused]
        if found.settled < len(points) and not whole_budget:
            return 0, []  # other batches spent the budget: this one waits for the next flush
        self._refusing = error.reason
        raise EveryRequestRefused(
            self.store.url, error.reason, len(rows), requests + found.requests
        )

    def _acknowledged(self, rows: Sequence[_Row], refused: Sequence[_Refused]) -> None:
        """The store has ROWS but REFUSED: delete the batch, keep the refused aside, atomically."""
        now = datetime.now(UTC).isoformat()
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO rejected (body, reason, rejected_at) VALUES (?, ?, ?)",
                [(encode(item.row.point), item.reason, now) for item in refused],
            )
            if rows:
                db.execute("DELETE FROM points WHERE id <= ?", (rows[-1].id,))
            db.execute(
                "DELETE FROM state WHERE key IN (?, ?, ?)", (LAST_ERROR, LAST_ERROR_AT, REFUSING)
            )
            drained = db.execute("SELECT 1 FROM points LIMIT 1").fetchone() is None
        if drained:
            self._vacuum()
        self._failures, self._next_attempt, self._last_error = 0, float("-inf"), None
        self._refusing = None
        self._check_replay()

    def _check_replay(self) -> None:
        """Once the store took points, ask it once whether a re-sent point is kept once."""
        if self._replay_checked or not isinstance(self.store, ReplayChecked):
            return
        try:
            problem = self.store.replay_problem()
        except StoreUnavailable:
            return  # ask again after the next write that gets through
        self._replay_checked = True
        if problem:
            self._warn(problem)

    def _vacuum(self) -> None:
        """Give the pages of a drained spool back to the file system (auto_vacuum=INCREMENTAL).

        Through `executescript`: `execute` steps this pragma once, which frees one page.
        """
        with self._lock:
            self._db.executescript("PRAGMA incremental_vacuum")

    def _record_error(self, error: StoreError) -> None:
        with self._transaction() as db:
            state_set(db, LAST_ERROR, str(error))
            state_set(db, LAST_ERROR_AT, datetime.now(UTC).isoformat())
            if isinstance(error, EveryRequestRefused):
                state_set(db, REFUSING, error.reason)

    def _fail_loudly(self, error: StoreError) -> None:
        """No backoff: every flush must fail loudly until the configuration is fixed."""
        self._failures, self._next_attempt, self._last_error = 0, float("-inf"), error
        self._record_error(error)

    def _back_off(self, error: StoreUnavailable) -> None:
        self._failures += 1
        self._last_error = error
        self._next_attempt = self._clock() + backoff_seconds(self._failures, self._jitter())
        self._record_error(error)

    def _result(
        self, sent: int, rejected: int, error: StoreError | None, deferred: bool = False
    ) -> FlushResult:
        with self._lock:
            pending = pending_count(self._db)
        return FlushResult(sent, rejected, pending, error, deferred)
