"""The append-only audit log: every change, who made it, before and after, hash-chained.

Each entry's hash covers its own content and the previous entry's hash, so an edited,
removed or reordered entry breaks the chain at that point, and `verify` names it. Each
entry's MAC (HMAC-SHA-256 of the same content under the audit key, `audit_key.py`) stops
someone who can write the database but lacks the key from editing an entry and re-hashing
the chain after it. A log cut at its end still verifies: a head recorded earlier (`SEQ:HASH`,
`head()`) given back to `verify` shows it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, insert, or_, select
from sqlalchemy.orm import Session

from pelihara.inventory.audit_chain import (
    GENESIS,
    HASHED,
    Change,
    chained_row,
    content_hash,
    entry_content,
    key_refused,
)
from pelihara.inventory.audit_key import AuditKey, require_key
from pelihara.inventory.db import table_of
from pelihara.inventory.locking import lock_writes
from pelihara.inventory.models import AuditEntry


def _stored(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in HASHED}


def entry_hash(entry: AuditEntry) -> str:
    """The hash ENTRY should carry, recomputed from what is stored."""
    return content_hash(_stored(entry))


def mac_matches(entry: AuditEntry, key: AuditKey) -> bool:
    """Whether ENTRY's MAC is KEY's over its stored content (False when it has none)."""
    if entry.mac is None:
        return False
    return key.matches(entry_content(_stored(entry)), entry.mac)


class AuditLog:
    """Appends entries to the log within SESSION, each with its hash and its MAC under KEY.

    The entries go into the caller's transaction, so a change and its audit entry are
    committed together or not at all. The writers' lock is taken first (`locking.py`), then
    the chain's tail is read once. Without a key (`audit_key.py`) nothing is appended; a key
    that did not sign the latest entry appends nothing either.
    """

    def __init__(self, session: Session, actor: str, key: AuditKey | None = None) -> None:
        self._session = session
        self.actor = actor
        self._key = key or require_key()
        lock_writes(session)
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
        if last is not None and last.mac is not None and not mac_matches(last, self._key):
            raise key_refused(self._key, last.seq)
        self._seq, self._hash = (last.seq, last.hash) if last else (0, GENESIS)

    def _row(self, change: Change) -> dict[str, Any]:
        row = chained_row(self._seq, self._hash, self.actor, change, self._key)
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


@dataclass(frozen=True, order=True)
class Head:
    """An entry's place on the chain, written `SEQ:HASH` (what `audit head` prints)."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


def parse_head(text: str) -> Head:
    """`SEQ:HASH` as `audit head` prints it; ValueError says what is wrong."""
    seq, colon, digest = text.strip().partition(":")
    digest = digest.lower()
    if not (colon and seq.isdigit() and _HEX64.fullmatch(digest)):
        raise ValueError(f"{text!r} is not SEQ:HASH (an entry number, a colon, 64 hex digits)")
    return Head(int(seq), digest)


_HEX64 = re.compile(r"[0-9a-f]{64}")


def head(session: Session) -> Head:
    """The latest entry's place; `0:000...0` for an empty log (the chain's start)."""
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return Head(last[0], last[1]) if last else Head(0, GENESIS)


@dataclass(frozen=True)
class Expectation:
    """A head recorded earlier (`--expect`), and whether it is still on the chain."""

    head: Head
    ok: bool
    reason: str


@dataclass(frozen=True)
class ChainReport:
    """Result of `verify`: how many entries were checked and the first broken one, if any.

    `macs_checked`: a key was given, so every MAC was checked; `unsigned`: how many entries
    at the start carry no MAC (written before MACs existed); `head`: the last entry checked."""

    checked: int
    broken_seq: int | None = None
    reason: str = ""
    head: Head = Head(0, GENESIS)
    macs_checked: bool = False
    unsigned: int = 0
    expectations: tuple[Expectation, ...] = ()

    @property
    def ok(self) -> bool:
        return self.broken_seq is None and all(e.ok for e in self.expectations)


def _entries(session: Session, batch: int = 5000) -> Iterator[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch)
    yield from session.scalars(stmt)


def _check(entry: AuditEntry, expected_seq: int, prev_hash: str, content: bytes) -> str:
    if entry.seq != expected_seq:
        return f"entry {expected_seq} is missing (next is {entry.seq}): removed"
    if entry.prev_hash != prev_hash:
        return "does not follow the entry before it: an entry was removed or reordered"
    if hashlib.sha256(content).hexdigest() != entry.hash:
        return "content does not match its hash: the entry was edited"
    return ""


class _Walk:
    """The state of a walk along the chain: where it is, and where the MACs began."""

    def __init__(self, key: AuditKey | None) -> None:
        self.key = key
        self.seq, self.hash = 0, GENESIS
        self.signed_from: int | None = None
        self.unsigned = 0
        self.hashes: dict[int, str] = {0: GENESIS}

    def step(self, entry: AuditEntry) -> str:
        """The reason ENTRY breaks the chain, or "" (and the walk moves on)."""
        content = entry_content(_stored(entry))
        reason = _check(entry, self.seq + 1, self.hash, content) or self._check_mac(entry, content)
        if not reason:
            self.seq, self.hash = entry.seq, entry.hash
        return reason

    def _check_mac(self, entry: AuditEntry, content: bytes) -> str:
        # The rule: entries before the first MAC were written before MACs existed; from the
        # first entry that has one onwards, every entry must have one.
        if entry.mac is None:
            if self.signed_from is not None:
                return (f"has no MAC though entry {self.signed_from} before it has one: "
                        "its MAC was removed")  # fmt: skip
            self.unsigned += 1
            return ""
        self.signed_from = self.signed_from or entry.seq
        if self.key is not None and not hmac.compare_digest(self.key.mac(content), entry.mac):
            return (f"its MAC does not match: the entry was edited (and the chain re-hashed), "
                    f"or {self.key.source} is not the key that signed it")  # fmt: skip
        return ""


def _expectation(expected: Head, walk: _Walk, broken: bool) -> Expectation:
    found = walk.hashes.get(expected.seq)
    if found == expected.hash:
        return Expectation(expected, True, "on the chain")
    if found is not None:
        return Expectation(expected, False, f"entry {expected.seq} now has hash {found}: "
                           "the log was rewritten at or before it")  # fmt: skip
    if broken:
        return Expectation(expected, False, "not confirmed: the chain is broken at or before it")
    return Expectation(expected, False, f"the log ends at entry {walk.seq}: it was cut "
                       f"after the head recorded")  # fmt: skip


def verify(
    session: Session, key: AuditKey | None = None, expect: Iterable[Head] = ()
) -> ChainReport:
    """Walk the chain from the start; report the first entry that was edited, removed or moved.

    With KEY every MAC is checked too; each head in EXPECT must still be on the chain."""
    walk, expected = _Walk(key), tuple(expect)
    wanted = {head.seq for head in expected}
    broken: tuple[int, str] | None = None
    for entry in _entries(session):
        reason = walk.step(entry)
        if reason:
            broken = (min(entry.seq, walk.seq + 1), reason)
            break
        if entry.seq in wanted:
            walk.hashes[entry.seq] = entry.hash
    expectations = tuple(_expectation(head, walk, broken is not None) for head in expected)
    return ChainReport(
        walk.seq, broken[0] if broken else None, broken[1] if broken else "",
        Head(walk.seq, walk.hash), macs_checked=key is not None, unsigned=walk.unsigned,
        expectations=expectations,
    )  # fmt: skip


def count(session: Session) -> int:
    """Number of entries in the log."""
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def recent(
    session: Session, limit: int, key: str | None = None, also: ColumnElement[bool] | None = None
) -> list[AuditEntry]:
    """The latest LIMIT entries, newest first, optionally only those about KEY, and those
    ALSO selects (a verify run of the server KEY names: `collector.runs`)."""
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if key:
        about = AuditEntry.entity_key == key
        stmt = stmt.where(about if also is None else or_(about, also))
    return list(session.scalars(stmt))


def changed_fields(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> dict[str, tuple[Any, Any]]:
    """What an update changed: each field whose value differs, as (before, after).

    >>> changed_fields({"status": "active", "os": "Debian 12"}, {"status": "maintenance",
    ...                 "os": "Debian 12"})
    {'status': ('active', 'maintenance')}
    """
    if before is None or after is None:
        return {}
    names = [*before, *(name for name in after if name not in before)]
    return {n: (before.get(n), after.get(n)) for n in names if before.get(n) != after.get(n)}
