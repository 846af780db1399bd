"""Writers one at a time: the lock a writer's transaction takes before it reads what it changes.

Every audit entry takes the next sequence number after the chain's tail, so two writers that
read the same tail would both claim it. A writer therefore takes the database's write lock
first, in its own transaction, and holds it until commit or rollback:

- SQLite: `BEGIN IMMEDIATE` (the write lock at once; a plain BEGIN would take it only at the
  first write, after the reads it depends on);
- PostgreSQL: a transaction-scoped advisory lock (no table, no privilege needed, released at
  commit or rollback; taking it again in the same transaction is free).

A writer waits for its turn as long as the engine's bound (`make_engine(busy_wait=...)`:
SQLite's busy timeout, PostgreSQL's lock_timeout), retried inside the engine, then gives up
with `BusyError`, and its transaction is rolled back.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from pelihara.core.errors import BusyError
from pelihara.inventory.dbapi import ADVISORY_KEY, BUSY_MESSAGE, is_busy


def lock_writes(session: Session) -> None:
    """Take the write lock in SESSION's transaction (at once if already held)."""
    connection = session.connection()
    try:
        if connection.dialect.name == "sqlite":
            # pysqlite opens a transaction only before a write: one open here holds the lock.
            if not connection.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
                connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_KEY})
    except OperationalError as exc:
        if exc.orig is not None and is_busy(exc.orig):
            raise BusyError(f"{BUSY_MESSAGE}; this change was rolled back: try again") from exc
        raise


def read_snapshot(session: Session) -> None:
    """Make SESSION's reads, from here to its end, see one moment of the database: a check
    that reads the log and then the rows must not see a change committed in between.
    For readers only: a writer's transaction starts with `lock_writes` instead."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        if not connection.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
            connection.exec_driver_sql("BEGIN")  # WAL: the snapshot is taken at the first read
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
