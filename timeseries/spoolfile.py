"""The spool's SQLite file: its tables, and the small reads and writes the spool makes.

points(id, body)                           waiting, oldest first; body = `spool.encode`
rejected(id, body, reason, rejected_at)    set aside: the store refused them
meta(key, value INTEGER)                   schema_version and the dropped-over-cap counters
state(key, value TEXT)                     the store fed, the last flush's error: for
                                           `pelihara tsdb spool` in another process
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pelihara.core.paths import private_file

SCHEMA_VERSION = 1
BUSY_TIMEOUT_SECONDS = 30.0  # another process (a flusher, `pelihara` status) may hold the lock

# Rows are only ever deleted from the front (oldest ids: flushed batches, points over the cap)
# and AUTOINCREMENT never reuses an id, so the ids in `points` are one contiguous range.
SCHEMA = """
CREATE TABLE IF NOT EXISTS points (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rejected (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    reason TEXT NOT NULL,
    rejected_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
DROPPED = "dropped_over_cap"
DROPPED_REPORTED = "dropped_over_cap_reported"
# In `state`, for `pelihara tsdb spool` (another process): the store this spool feeds, and
# what stopped its last flush (removed once a write gets through); and the reason of a store
# that refused every request, so that a restarted writer hearing it again does not split anew.
STORE_URL, LAST_ERROR, LAST_ERROR_AT = "store_url", "last_error", "last_error_at"
REFUSING = "refusing_every_request"


def connect(path: Path) -> sqlite3.Connection:
    private_file(path)  # 0600 in a 0700 directory: SQLite would create it 0644
    db = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
    )
    db.execute("PRAGMA auto_vacuum=INCREMENTAL")  # only takes effect on a new file
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # fsync the WAL at every commit: power-loss safe
    db.executescript(SCHEMA)
    db.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,)
    )
    return db


def meta_get(db: sqlite3.Connection, key: str) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row else 0


def meta_add(db: sqlite3.Connection, key: str, amount: int) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
        (key, amount),
    )


def meta_set(db: sqlite3.Connection, key: str, value: int) -> None:
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def row_count(db: sqlite3.Connection, table: str) -> int:
    return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def pending_count(db: sqlite3.Connection) -> int:
    """Points in the spool, from the id range: O(log n) where COUNT(*) takes ~0.1 s at 1M."""
    first, last = db.execute("SELECT MIN(id), MAX(id) FROM points").fetchone()
    return 0 if first is None else int(last) - int(first) + 1


def drop_over_cap(db: sqlite3.Connection, cap: int) -> int:
    """Delete the oldest points beyond CAP and count them in the meta table."""
    newest = db.execute("SELECT MAX(id) FROM points").fetchone()[0]
    if newest is None:
        return 0
    dropped = db.execute("DELETE FROM points WHERE id <= ?", (newest - cap,)).rowcount
    if dropped:
        meta_add(db, DROPPED, dropped)
    return dropped


def state_set(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (key, value))


def state_get(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])
