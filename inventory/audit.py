"""The append-only audit log: every change, who made it, before and after, hash-chained.

Each entry's hash covers its own content and the previous entry's hash, so an edited,
removed or reordered entry breaks the chain at that point, and `verify` names it.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from pelihara.core.canonical import sha256_hex
from pelihara.inventory.db import table_of
from pelihara.inventory.models import AuditEntry, utcnow

GENESIS = "0" * 64


def current_actor(explicit: str | None = None) -> str:
    """`--actor` if given, else the operating-system user."""
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers): fall back to the uid
        return f"uid:{os.getuid()}"


def _utc_text(moment: datetime) -> str:
    # SQLite hands back naive datetimes; they were written as UTC.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


_HASHED = ("seq", "at", "actor", "action", "entity", "entity_key", "before", "after", "prev_hash")


def content_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of an entry's content and its predecessor's hash."""
    content = {name: row[name] for name in _HASHED}
    # The time is hashed as the text the first version wrote (`+00:00`, microseconds), so
    # chains written before the canonical encoder still verify.
    content["at"] = _utc_text(row["at"])
    return sha256_hex(content)


def entry_hash(entry: AuditEntry) -> str:
    """The hash ENTRY should carry, recomputed from what is stored."""
    return content_hash({name: getattr(entry, name) for name in _HASHED})


Change = tuple[str, str, str, Mapping[str, Any] | None, Mapping[str, Any] | None]


class AuditLog:
    """Appends entries to the log within SESSION; the chain's tail is read once.

    The entries go into the caller's transaction, so a change and its audit entry are
    committed together or not at all.
    """

    def __init__(self, session: Session, actor: str) -> None:
        self._session = session
        self.actor = actor
        last = session.execute(
            select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
        ).first()
        self._seq, self._hash = (last[0], last[1]) if last else (0, GENESIS)

    def _row(self, change: Change) -> dict[str, Any]:
        action, entity, key, before, after = change
        row: dict[str, Any] = {
            "seq": self._seq + 1, "at": utcnow(), "actor": self.actor, "action": action,
            "entity": entity, "entity_key": key, "prev_hash": self._hash,
            "before": dict(before) if before is not None else None,
            "after": dict(after) if after is not None else None,
        }  # fmt: skip
        row["hash"] = content_hash(row)
        self._seq, self._hash = row["seq"], row["hash"]
        return row

    def append(
        self,
        action: str,
        entity: str,
        key: str,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
    ) -> AuditEntry:
        """Add one entry to the session."""
        entry = AuditEntry(**self._row((action, entity, key, before, after)))
        self._session.add(entry)
        return entry

    def extend(self, changes: list[Change]) -> None:
        """Add many entries at once with one multi-row INSERT (imports of thousands)."""
        if changes:
            self._session.flush()  # entries appended one by one go first, in order
            self._session.execute(insert(table_of(AuditEntry)), [self._row(c) for c in changes])


@dataclass(frozen=True)
class ChainReport:
    """Result of `verify`: how many entries were checked and the first broken one, if any."""

    checked: int
    broken_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def _entries(session: Session, batch: int = 5000) -> Iterator[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch)
    yield from session.scalars(stmt)


def _check(entry: AuditEntry, expected_seq: int, prev_hash: str) -> str:
    if entry.seq != expected_seq:
        return f"entry {expected_seq} is missing (next is {entry.seq}): removed"
    if entry.prev_hash != prev_hash:
        return "does not follow the entry before it: an entry was removed or reordered"
    if entry_hash(entry) != entry.hash:
        return "content does not match its hash: the entry was edited"
    return ""


def verify(session: Session) -> ChainReport:
    """Walk the chain from the start; report the first entry that was edited, removed or moved."""
    expected_seq, prev_hash = 1, GENESIS
    for entry in _entries(session):
        reason = _check(entry, expected_seq, prev_hash)
        if reason:
            return ChainReport(expected_seq - 1, min(entry.seq, expected_seq), reason)
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    return ChainReport(expected_seq - 1)


def count(session: Session) -> int:
    """Number of entries in the log."""
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def recent(session: Session, limit: int, key: str | None = None) -> list[AuditEntry]:
    """The latest LIMIT entries, newest first, optionally only those about KEY."""
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if key:
        stmt = stmt.where(AuditEntry.entity_key == key)
    return list(session.scalars(stmt))
