"""Snapshots in the database: written once with their audit entry, listed, read back.

A row is never updated or deleted (the database's triggers refuse it, `audit_guards`);
its DOCUMENT is the canonical JSON text, and SHA256 the hash of exactly those bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pelihara.collector.models import SnapshotRecord
from pelihara.core.errors import NotFoundError
from pelihara.facts.snapshot import Snapshot, snapshot_json
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.models import Server
from pelihara.inventory.queries import find_server


def store_snapshot(
    session: Session, actor: str, server_id: int, snapshot: Snapshot
) -> SnapshotRecord:
    """Write SNAPSHOT of the server SERVER_ID with its audit entry (the hash), committed."""
    document = snapshot_json(snapshot)
    record = SnapshotRecord(
        server_id=server_id, host=snapshot.host, ticket=snapshot.ticket, phase=snapshot.phase,
        actor=actor, taken_at=snapshot.taken_at, probes=",".join(snapshot.probes),
        document=document, sha256=hashlib.sha256(document.encode("utf-8")).hexdigest(),
    )  # fmt: skip
    session.add(record)
    session.flush()
    after = {"snapshot": record.id, **_summary_fields(record)}
    AuditLog(session, actor).append("snapshot", "snapshot", snapshot.host, None, after)
    session.commit()
    return record


def _summary_fields(record: SnapshotRecord) -> dict[str, Any]:
    return {"ticket": record.ticket, "phase": record.phase, "taken_at": record.taken_at,
            "probes": record.probes.split(","), "sha256": record.sha256}  # fmt: skip


def load_snapshot(session: Session, snapshot_id: int) -> SnapshotRecord:
    record = session.get(SnapshotRecord, snapshot_id)
    if record is None:
        raise NotFoundError(f"no snapshot {snapshot_id}")
    return record


@dataclass(frozen=True)
class SnapshotFilter:
    """`snapshot list HOST --ticket REF`: a server's snapshots (by the inventory's record,
    through renames, or by the hostname they were taken under), a ticket's."""

    host: str | None = None
    ticket: str | None = None
    limit: int = 50


def list_snapshots(session: Session, where: SnapshotFilter) -> list[SnapshotRecord]:
    """The latest snapshots as WHERE asks, newest first (without reading their documents
    into Python for nothing: the list shows only the columns)."""
    stmt = select(SnapshotRecord).order_by(SnapshotRecord.id.desc()).limit(where.limit)
    if where.ticket:
        stmt = stmt.where(SnapshotRecord.ticket == where.ticket)
    if where.host:
        stmt = stmt.where(snapshots_of_host(session, where.host))
    return list(session.scalars(stmt))


def snapshots_of_host(session: Session, host: str) -> Any:
    """The condition: snapshots of the server HOST names now (renamed since, too), or taken
    under HOST (`snapshot list HOST`, `snapshot diff --ticket REF HOST`)."""
    name = host.strip().lower()
    try:
        server_id = find_server(session, host).id
    except NotFoundError:
        return SnapshotRecord.host == name
    return or_(SnapshotRecord.server_id == server_id, SnapshotRecord.host == name)


def snapshot_summary(record: SnapshotRecord) -> dict[str, Any]:
    """What `snapshot list` shows of one snapshot."""
    return {"id": record.id, "host": record.host, **_summary_fields(record),
            "actor": record.actor}  # fmt: skip


def snapshots_naming(session: Session, hostname: str) -> list[str]:
    """The snapshots of the server HOSTNAME, as `snapshot N` (what keeps `inventory remove`
    from taking the server out from under them: they cannot be deleted)."""
    of_server = select(Server.id).where(Server.hostname == hostname)
    stmt = select(SnapshotRecord.id).where(
        or_(SnapshotRecord.host == hostname, SnapshotRecord.server_id.in_(of_server))
    )
    return [
        f"snapshot {snapshot_id}"
        for snapshot_id in session.scalars(stmt.order_by(SnapshotRecord.id))
    ]
