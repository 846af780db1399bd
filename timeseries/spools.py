"""The spools on this machine, for the operator: what waits, what was set aside and why, and
sending the set-aside points again after a fix (`pelihara tsdb spool`).

Reading opens a spool file read-only, beside the agent or collect that may be writing it (WAL:
readers never wait). Times are the points' own (`time_ns`), in UTC.

>>> spool_status(spool_files()[0])                                   # doctest: +SKIP
SpoolStatus(path=.../agent-victoriametrics-tsdb-8428.db, owner='agent', pending=1234, ...)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pelihara.timeseries.base import Store, StoreError
from pelihara.timeseries.spool import FlushResult, RejectedPoint, Spool, decode
from pelihara.timeseries.spoolfile import (
    BUSY_TIMEOUT_SECONDS,
    DROPPED,
    LAST_ERROR,
    LAST_ERROR_AT,
    STORE_URL,
    meta_get,
    pending_count,
    row_count,
    state_get,
)


@dataclass(frozen=True)
class Waiting:
    """Points of one measurement waiting in a spool, and the times of the oldest and newest."""

    measurement: str
    points: int
    oldest_ns: int
    newest_ns: int


@dataclass(frozen=True)
class SetAside:
    """Points the store refused for one reason, and when the first and the last were."""

    reason: str
    points: int
    first_at: datetime
    last_at: datetime


@dataclass(frozen=True)
class SpoolStatus:
    """One spool file: the store it feeds, what waits, what was dropped and set aside."""

    path: Path
    owner: str  # agent, collect: the writer, from the file name
    store_url: str | None  # as shown (no password); None in a file from before it was noted
    pending: int
    by_measurement: list[Waiting] = field(default_factory=list)
    dropped_over_cap: int = 0  # ever
    rejected: int = 0
    rejected_by_reason: list[SetAside] = field(default_factory=list)
    last_error: str | None = None  # what stopped the last flush, gone once a write got through
    last_error_at: datetime | None = None

    @property
    def oldest_ns(self) -> int | None:
        return min((w.oldest_ns for w in self.by_measurement), default=None)

    @property
    def newest_ns(self) -> int | None:
        return max((w.newest_ns for w in self.by_measurement), default=None)


@dataclass(frozen=True)
class Replayed:
    """`replay` of one spool: points moved back to the queue, then what the flush did."""

    path: Path
    moved: int
    flush: FlushResult  # its `error` also when the flush raised it (refused, auth)


@contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    uri = path.resolve().as_uri() + "?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_SECONDS)) as db:
        db.execute("BEGIN")  # one snapshot for every read
        yield db


def _has_state(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = 'state'").fetchone() is not None


def _waiting(db: sqlite3.Connection) -> list[Waiting]:
    rows = db.execute(
        "SELECT json_extract(body, '$.measurement') AS m, COUNT(*),"
        " MIN(json_extract(body, '$.time_ns')), MAX(json_extract(body, '$.time_ns'))"
        " FROM points GROUP BY m ORDER BY m"
    ).fetchall()
    return [Waiting(str(m), int(n), int(first), int(last)) for m, n, first, last in rows]


def _set_aside(db: sqlite3.Connection) -> list[SetAside]:
    rows = db.execute(
        "SELECT reason, COUNT(*), MIN(rejected_at), MAX(rejected_at) FROM rejected"
        " GROUP BY reason ORDER BY MIN(id)"
    ).fetchall()
    return [
        SetAside(reason, int(n), datetime.fromisoformat(first), datetime.fromisoformat(last))
        for reason, n, first, last in rows
    ]


def spool_status(path: Path) -> SpoolStatus:
    """What the spool file PATH holds; read-only."""
    with _read_only(path) as db:
        state = _has_state(db)
        error_at = state_get(db, LAST_ERROR_AT) if state else None
        return SpoolStatus(
            path=path,
            owner=path.stem.partition("-")[0],
            store_url=state_get(db, STORE_URL) if state else None,
            pending=pending_count(db),
            by_measurement=_waiting(db),
            dropped_over_cap=meta_get(db, DROPPED),
            rejected=row_count(db, "rejected"),
            rejected_by_reason=_set_aside(db),
            last_error=state_get(db, LAST_ERROR) if state else None,
            last_error_at=datetime.fromisoformat(error_at) if error_at else None,
        )


def rejected_points(path: Path, limit: int) -> list[RejectedPoint]:
    """The first LIMIT points set aside in the spool file PATH, oldest first; read-only."""
    with _read_only(path) as db:
        rows = db.execute(
            "SELECT body, reason, rejected_at FROM rejected ORDER BY id LIMIT ?", (limit,)
        ).fetchall()
    return [RejectedPoint(decode(b), r, datetime.fromisoformat(t)) for b, r, t in rows]


def replay(path: Path, store: Store, warn: Callable[[str], None]) -> Replayed:
    """Move the points set aside in the spool PATH back to its queue and flush it to STORE.

    Safe to repeat: a point the store already has is kept once (same series and time). The
    points the store refuses again are set aside again; a store that is down, or refuses every
    request, leaves them all waiting, for the spool's own writer to send later.
    """
    with Spool(path, store, warn=warn) as spool:
        moved = spool.replay_rejected()
        try:
            return Replayed(path, moved, spool.flush(force=True))
        except StoreError as error:
            stats = spool.stats()
            return Replayed(path, moved, FlushResult(0, 0, stats.pending, error))
