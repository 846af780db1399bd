"""A ticket's snapshot diffs in the database, for the report: written once with an audit
entry each, read back with their hashes checked.

A row is never updated or deleted (the database's triggers refuse it, `audit_guards`). The
same diff of the same inputs (both snapshots, the rules, the intents) is stored once: run
again, it is recognised and reported as already stored, and nothing is appended.

>>> report = store_diffs(session, "budi", diff_ticket(...), inputs)    # doctest: +SKIP
>>> [(d.host, d.stored) for d in report.diffs]                         # doctest: +SKIP
[('dinkes-web01', Stored(id=4, new=True))]
>>> [(r.host, r.sha256[:12]) for r in stored_diffs(session, "2026/041")]  # doctest: +SKIP
[('dinkes-web01', '9f2c51d0aa17')]
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pelihara.collector.models import SnapshotDiffRecord
from pelihara.collector.snapshot_diff import DiffInputs, DiffReport, HostDiff, Stored
from pelihara.core.canonical import canonical_json, sha256_hex
from pelihara.core.errors import DatabaseError
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.models import utcnow


def _intents(inputs: DiffInputs) -> tuple[str | None, str]:
    """The intents' canonical JSON (None: none given) and its hash (of `null` then: the
    unique key holds no NULL, which no database compares equal)."""
    data = inputs.intents_dict()
    return (canonical_json(data) if data is not None else None), sha256_hex(data)


def _existing(session: Session, diff: HostDiff, intents_sha256: str) -> SnapshotDiffRecord | None:
    stmt = select(SnapshotDiffRecord).where(
        SnapshotDiffRecord.before_sha256 == diff.before.sha256,
        SnapshotDiffRecord.after_sha256 == diff.after.sha256,
        SnapshotDiffRecord.rules_sha256 == diff.diff.rules_sha256,
        SnapshotDiffRecord.intents_sha256 == intents_sha256,
        SnapshotDiffRecord.sha256 == diff.sha256,
    )
    return session.scalars(stmt.limit(1)).first()


def _record(diff: HostDiff, ticket: str, actor: str, intents: tuple[str | None, str]) -> Any:
    return SnapshotDiffRecord(
        ticket=ticket, server_id=diff.server_id, host=diff.host,
        before_snapshot_id=diff.before.snapshot, before_sha256=diff.before.sha256,
        after_snapshot_id=diff.after.snapshot, after_sha256=diff.after.sha256,
        rules_sha256=diff.diff.rules_sha256, intents=intents[0], intents_sha256=intents[1],
        document=canonical_json(diff.data), sha256=diff.sha256, actor=actor,
        created_at=utcnow(),
    )  # fmt: skip


def _audit_fields(record: SnapshotDiffRecord, diff: HostDiff) -> dict[str, Any]:
    summary = diff.data["summary"]
    return {"snapshot_diff": record.id, "ticket": record.ticket,
            "before": {"snapshot": record.before_snapshot_id, "sha256": record.before_sha256},
            "after": {"snapshot": record.after_snapshot_id, "sha256": record.after_sha256},
            "rules_sha256": record.rules_sha256, "intents_sha256": record.intents_sha256,
            "changes": summary["changes"],
            "unexpected": summary["unexpected_warning_or_above"],
            "sha256": record.sha256}  # fmt: skip


def store_diffs(session: Session, actor: str, report: DiffReport, inputs: DiffInputs) -> DiffReport:
    """Store the diffs of the ticket's REPORT made with INPUTS, each with its audit entry,
    in one commit; the ones stored before are recognised. Returns REPORT with `stored` set."""
    if report.ticket is None:
        raise ValueError("only a ticket's diffs are stored")
    intents = _intents(inputs)
    log: AuditLog | None = None
    stored = []
    for diff in report.diffs:
        record = _existing(session, diff, intents[1])
        if record is None and log is None:  # the writers' lock, then look again
            log = AuditLog(session, actor)
            record = _existing(session, diff, intents[1])
        if record is not None:
            stored.append(dataclasses.replace(diff, stored=Stored(record.id, new=False)))
            continue
        record = _record(diff, report.ticket, actor, intents)
        session.add(record)
        session.flush()
        assert log is not None
        log.append("snapshot_diff", "snapshot_diff", diff.host, None, _audit_fields(record, diff))
        stored.append(dataclasses.replace(diff, stored=Stored(record.id, new=True)))
    session.commit()
    return dataclasses.replace(report, diffs=stored)


def stored_diffs(session: Session, ticket: str) -> list[SnapshotDiffRecord]:
    """Every diff stored for TICKET, oldest first (a host diffed again with other rules or
    intents has several: the latest per host is what it was last judged by). Each
    document is checked against its hash: a row that does not match is refused."""
    stmt = select(SnapshotDiffRecord).where(SnapshotDiffRecord.ticket == ticket)
    records = list(session.scalars(stmt.order_by(SnapshotDiffRecord.id)))
    for record in records:
        if hashlib.sha256(record.document.encode("utf-8")).hexdigest() != record.sha256:
            raise DatabaseError(
                f"stored diff {record.id} ({record.host}, ticket {ticket}) does not match its "
                "SHA-256: the row was changed behind pelihara's back (`pelihara audit verify`)"
            )
    return records


def stored_diff_dict(record: SnapshotDiffRecord) -> dict[str, Any]:
    """A stored diff as plain data: which snapshots, rules and intents made it, the diff's
    dict form (as `diff_to_dict` gave it) and its hash, who stored it and when."""
    return {"id": record.id, "ticket": record.ticket, "host": record.host,
            "before": {"snapshot": record.before_snapshot_id, "sha256": record.before_sha256},
            "after": {"snapshot": record.after_snapshot_id, "sha256": record.after_sha256},
            "rules_sha256": record.rules_sha256,
            "intents": json.loads(record.intents) if record.intents is not None else None,
            "diff": json.loads(record.document), "sha256": record.sha256,
            "actor": record.actor, "created_at": record.created_at}  # fmt: skip
