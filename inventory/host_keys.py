"""The SSH host keys recorded for a server: recorded on first use, seen again, forgotten after
a legitimate re-key.

`pelihara verify --trust-new-host-keys` records the key a server offers the first time; a
different key later is refused as CHANGED, whatever the flag. When the server really was
re-keyed (reinstalled, keys rotated), the team checks the new key out of band, forgets the
old record here, and lets the next verify record the new one. Each recorded or forgotten
key is an entry in the audit log.

Two writers may record a key of the same server and type at once (two runs, two collector
hosts on one PostgreSQL): the record is an upsert that keeps the first, and the other writer
learns what was recorded instead of failing on the unique constraint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pelihara.core.errors import NotFoundError
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.db import table_of
from pelihara.inventory.models import HostKey, Server, utcnow

# INSERT ... ON CONFLICT, by the database's dialect (the engines pelihara supports).
_INSERTS: dict[str, Callable[[Any], Any]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


def record_host_key(
    session: Session, audit: AuditLog, server: tuple[int, str], key_type: str, fingerprint: str
) -> str | None:
    """Record the key of KEY_TYPE that SERVER (id, hostname) offered, newly trusted, with its
    audit entry. None when it is the key on record now; else the other fingerprint that was
    recorded meanwhile (kept: the caller reports the key as CHANGED)."""
    server_id, hostname = server
    now = utcnow()
    row = {"server_id": server_id, "key_type": key_type, "fingerprint_sha256": fingerprint,
           "first_seen": now, "last_seen": now}  # fmt: skip
    dialect = session.get_bind().dialect
    insert = _INSERTS[dialect.name](table_of(HostKey)).values(row)
    insert = insert.on_conflict_do_nothing(index_elements=["server_id", "key_type"])
    if _inserted(session, insert, dialect.insert_returning):
        after = {"key_type": key_type, "fingerprint_sha256": fingerprint}
        audit.append("trust", "host_key", hostname, None, after)
        return None
    recorded = session.scalar(
        select(HostKey.fingerprint_sha256).where(
            HostKey.server_id == server_id, HostKey.key_type == key_type
        )
    )
    return None if recorded == fingerprint else recorded


def _inserted(session: Session, insert: Any, returning: bool) -> bool:
    """Whether INSERT ... ON CONFLICT DO NOTHING wrote its row. Where the database has
    RETURNING, the row returned says so (with it, SQLAlchemy's rowcount on PostgreSQL is -1);
    else the row count (SQLite before 3.35, RHEL 9's 3.34)."""
    if returning:
        return session.execute(insert.returning(insert.table.c.id)).first() is not None
    return int(session.execute(insert).rowcount) == 1  # type: ignore[attr-defined]


def mark_seen(session: Session, seen: Iterable[tuple[int, str, str]], when: datetime) -> int:
    """Set `last_seen` of the recorded keys SEEN (server id, key type, fingerprint) to WHEN,
    in one UPDATE; how many rows it changed. A key not on record is not touched."""
    rows = sorted(set(seen))
    if not rows:
        return 0
    columns = tuple_(HostKey.server_id, HostKey.key_type, HostKey.fingerprint_sha256)
    stmt = update(table_of(HostKey)).where(columns.in_(rows)).values(last_seen=when)
    result = session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]


def forget_host_keys(
    session: Session, audit: AuditLog, server: Server, key_type: str | None = None
) -> list[HostKey]:
    """Remove SERVER's recorded keys (of KEY_TYPE only, if given); they are returned.
    Nothing to forget is an error naming what is recorded."""
    chosen = [k for k in server.host_keys if key_type in (None, k.key_type)]
    if not chosen:
        recorded = ", ".join(sorted(k.key_type for k in server.host_keys)) or "none"
        wanted = f"of type {key_type} " if key_type else ""
        raise NotFoundError(
            f"{server.hostname}: no host key {wanted}is recorded (recorded: {recorded})"
        )
    for key in chosen:
        before = {"key_type": key.key_type, "fingerprint_sha256": key.fingerprint_sha256}
        audit.append("forget", "host_key", server.hostname, before, None)
        server.host_keys.remove(key)
    session.flush()
    return chosen
