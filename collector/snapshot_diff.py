"""`pelihara snapshot diff`: which snapshots to compare, and their diffs with what names them.

Two snapshots by id (of one server, unless the caller allows two), or a ticket's: for each
server, its latest `pre` against its latest `post`. A server with only one side is named
with the side it lacks, never left out in silence. The diff itself is pure
(`facts.diff.diff_facts`); storing a ticket's diffs is `diff_store`.

>>> report = diff_ticket(session, "2026/041", (), DiffInputs(default_rules()))  # doctest: +SKIP
>>> [(d.host, d.before.snapshot, d.after.snapshot) for d in report.diffs]     # doctest: +SKIP
[('dinkes-web01', 3, 7)]
>>> [(m.host, m.missing) for m in report.missing], report.exit_status        # doctest: +SKIP
([('dinkes-db01', ('post',))], 5)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pelihara.collector.models import SnapshotRecord
from pelihara.collector.snapshot_store import load_snapshot, snapshots_of_host
from pelihara.core.canonical import sha256_hex
from pelihara.core.errors import ConfigurationError, ExitCode, NotFoundError
from pelihara.core.times import as_utc
from pelihara.facts.changes import FactsDiff, diff_to_dict
from pelihara.facts.diff import diff_facts
from pelihara.facts.diff_rules import DiffRules
from pelihara.facts.health_window import (
    HostHealthComparison,
    Thresholds,
    health_comparison_dict,
    not_compared_dict,
)
from pelihara.facts.intents import Intents, intents_to_dict
from pelihara.facts.model import FactsFormatError
from pelihara.facts.snapshot import Snapshot, snapshot_from_json

REPORT_FORMAT = "pelihara.snapshot-diffs"
REPORT_VERSION = 1
PHASES = ("pre", "post")


@dataclass(frozen=True)
class DiffInputs:
    """What a diff is made with besides the snapshots: the rules (the packaged ones or
    `--rules FILE`) and the intents (`--intent FILE`, a ticket's) or None."""

    rules: DiffRules
    intents: Intents | None = None

    def intents_dict(self) -> dict[str, Any] | None:
        """The intents as a ticket and a stored diff keep them (None: none given)."""
        return intents_to_dict(self.intents) if self.intents is not None else None


@dataclass(frozen=True)
class Side:
    """One snapshot as a diff names it: id, hash, host as taken, phase, ticket, time."""

    snapshot: int
    sha256: str
    host: str
    phase: str
    ticket: str | None
    taken_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"snapshot": self.snapshot, "sha256": self.sha256, "host": self.host,
                "phase": self.phase, "ticket": self.ticket, "taken_at": self.taken_at}  # fmt: skip


@dataclass(frozen=True)
class Stored:
    """Where a ticket's diff is kept: its row, and whether this run wrote it (False: the
    same diff of the same inputs was there already)."""

    id: int
    new: bool


@dataclass(frozen=True)
class HostDiff:
    """One server's diff: BEFORE and AFTER, the diff, its dict form and that form's hash
    (canonical JSON), and where it is stored (None: not stored)."""

    host: str
    server_id: int
    before: Side
    after: Side
    diff: FactsDiff
    data: dict[str, Any]
    sha256: str
    warnings: tuple[str, ...] = ()
    stored: Stored | None = None
    # The health-window comparison (`--health`, its own module) as plain data; None: not
    # asked. Not part of the stored diff: the series live in the time-series store.
    health: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        stored = {"id": self.stored.id, "new": self.stored.new} if self.stored else None
        return {"host": self.host, "before": self.before.to_dict(),
                "after": self.after.to_dict(), "diff": self.data, "diff_sha256": self.sha256,
                "warnings": list(self.warnings), "stored": stored,
                "health": dict(self.health) if self.health is not None else None}  # fmt: skip


@dataclass(frozen=True)
class MissingSide:
    """A server of the ticket that has no diff: the phases it lacks, and the one it has."""

    host: str
    missing: tuple[str, ...]
    present: Side | None = None

    def to_dict(self) -> dict[str, Any]:
        present = self.present.to_dict() if self.present else None
        return {"host": self.host, "missing": list(self.missing), "present": present}


@dataclass
class DiffReport:
    """What `snapshot diff` says: the diffs (by host), the servers with a side missing."""

    ticket: str | None
    diffs: list[HostDiff] = field(default_factory=list)
    missing: list[MissingSide] = field(default_factory=list)
    health_error: str | None = None  # `--health` asked, and the store could not be read

    @property
    def exit_status(self) -> int:
        """0 nothing unexpected at warning or above; 1 something is (a change, or health
        beyond a threshold); 4 a server lacks a side (its diff could not be made) or the
        health could not be read; 5 both (as `verify`: no status hides the other)."""
        unexpected = any(d.diff.unexpected() for d in self.diffs)
        unwell = any(d.health and d.health.get("flagged") for d in self.diffs)
        status = ExitCode.FINDINGS if unexpected or unwell else 0
        if self.missing or self.health_error:
            status |= ExitCode.UNREACHABLE
        return int(status)

    def to_dict(self) -> dict[str, Any]:
        """The `--format json` document (documented in the README; stable)."""
        return {"format": REPORT_FORMAT, "version": REPORT_VERSION, "ticket": self.ticket,
                "diffs": [d.to_dict() for d in self.diffs],
                "missing": [m.to_dict() for m in self.missing],
                "health_error": self.health_error,
                "exit_status": self.exit_status}  # fmt: skip


def side_of(record: SnapshotRecord) -> Side:
    return Side(record.id, record.sha256, record.host, record.phase, record.ticket,
                as_utc(record.taken_at))  # fmt: skip


def _read(record: SnapshotRecord) -> Snapshot:
    """The stored document; one this pelihara cannot read is named, not a traceback."""
    try:
        return snapshot_from_json(record.document)
    except FactsFormatError as exc:
        raise ConfigurationError(f"snapshot {record.id} cannot be read: {exc}") from None


def diff_records(
    before: SnapshotRecord, after: SnapshotRecord, inputs: DiffInputs, host: str = ""
) -> HostDiff:
    """The diff from the snapshot BEFORE to AFTER, named HOST (default: AFTER's host)."""
    found = diff_facts(_read(before).facts, _read(after).facts, inputs.rules, inputs.intents)
    data = diff_to_dict(found)
    return HostDiff(host=host or after.host, server_id=after.server_id, before=side_of(before),
                    after=side_of(after), diff=found, data=data, sha256=sha256_hex(data),
                    warnings=_order_warnings(before, after))  # fmt: skip


def _order_warnings(before: SnapshotRecord, after: SnapshotRecord) -> tuple[str, ...]:
    """A `pre` taken after the `post` (retaken by mistake?) is said, not silently diffed."""
    if as_utc(before.taken_at) <= as_utc(after.taken_at):
        return ()
    return (f"snapshot {before.id} ({before.phase}) was taken after snapshot {after.id} "
            f"({after.phase}): the diff runs backwards in time",)  # fmt: skip


def diff_pair(
    session: Session, before_id: int, after_id: int, inputs: DiffInputs, any_host: bool = False
) -> DiffReport:
    """`snapshot diff A B`: A before, B after. Two servers' snapshots are refused unless
    ANY_HOST (then the identity verdict says whether they are one machine)."""
    before, after = load_snapshot(session, before_id), load_snapshot(session, after_id)
    if before.server_id != after.server_id and not any_host:
        raise ConfigurationError(
            f"snapshot {before.id} is of {before.host}, snapshot {after.id} of {after.host}: "
            "a diff compares one server before and after (--any-host compares two servers, "
            "e.g. to tell whether they are the same machine)"
        )
    host = before.host if before.host == after.host else f"{before.host} -> {after.host}"
    return DiffReport(ticket=None, diffs=[diff_records(before, after, inputs, host)])


@dataclass(frozen=True)
class _Row:
    """A snapshot's columns without its document: which one is the latest is decided
    before any document is read."""

    id: int
    server_id: int
    host: str
    phase: str
    taken_at: datetime
    sha256: str


def _rows(session: Session, ticket: str, name: str | None) -> list[_Row]:
    columns = (SnapshotRecord.id, SnapshotRecord.server_id, SnapshotRecord.host,
               SnapshotRecord.phase, SnapshotRecord.taken_at, SnapshotRecord.sha256)  # fmt: skip
    stmt = select(*columns).where(SnapshotRecord.ticket == ticket, SnapshotRecord.phase.in_(PHASES))
    if name is not None:
        stmt = stmt.where(snapshots_of_host(session, name))
    return [_Row(*row) for row in session.execute(stmt)]


def _latest(rows: Iterable[_Row], phase: str) -> _Row | None:
    of_phase = [row for row in rows if row.phase == phase]
    return max(of_phase, key=lambda row: (row.taken_at, row.id), default=None)


def _by_server(rows: Iterable[_Row]) -> dict[int, list[_Row]]:
    found: dict[int, list[_Row]] = {}
    for row in rows:
        found.setdefault(row.server_id, []).append(row)
    return found


def _groups(session: Session, ticket: str, hosts: Sequence[str]) -> list[tuple[str, list[_Row]]]:
    """The ticket's snapshots by server, each named (a HOST named with none: no rows)."""
    if not hosts:
        rows = _rows(session, ticket, None)
        if not rows:
            raise NotFoundError(f"no pre or post snapshots of ticket {ticket}")
        return [(_name(group), group) for group in _by_server(rows).values()]
    groups: list[tuple[str, list[_Row]]] = []
    for host in dict.fromkeys(hosts):
        by_server = _by_server(_rows(session, ticket, host))
        groups += [(_name(group), group) for group in by_server.values()] or [(host, [])]
    return groups


def _name(rows: list[_Row]) -> str:
    """A server by the hostname of its latest snapshot (it follows renames)."""
    return max(rows, key=lambda row: (row.taken_at, row.id)).host


def _present(row: _Row | None, ticket: str) -> Side | None:
    if row is None:
        return None
    return Side(row.id, row.sha256, row.host, row.phase, ticket, as_utc(row.taken_at))


def diff_ticket(
    session: Session, ticket: str, hosts: Sequence[str], inputs: DiffInputs
) -> DiffReport:
    """`snapshot diff --ticket REF [HOST...]`: per server, the latest `pre` against the
    latest `post` of the ticket; a server with one side (or a HOST with none) is missing."""
    report = DiffReport(ticket=ticket)
    done: set[int] = set()
    for host, rows in _groups(session, ticket, hosts):
        pre, post = _latest(rows, "pre"), _latest(rows, "post")
        if pre is None or post is None:
            lacking = tuple(p for p, row in (("pre", pre), ("post", post)) if row is None)
            report.missing.append(MissingSide(host, lacking, _present(pre or post, ticket)))
        elif post.server_id not in done:
            done.add(post.server_id)
            before, after = load_snapshot(session, pre.id), load_snapshot(session, post.id)
            report.diffs.append(diff_records(before, after, inputs, host))
    report.diffs.sort(key=lambda d: d.host)
    report.missing.sort(key=lambda m: m.host)
    return report


def add_health(
    report: DiffReport, tsdb: str | None, window: timedelta, thresholds: Thresholds
) -> dict[str, HostHealthComparison]:
    """Give each diff of REPORT its host's health in WINDOW before the pre and after the post
    snapshot (`--health`), from the store at TSDB, read once; the comparisons by host. A
    store that cannot be read is REPORT's `health_error`, and every host's health says "not
    compared" with the reason: never read as "no change"."""
    from pelihara.collector.health_window import (
        HealthNotCompared,
        health_around,
        open_health_store,
    )

    found: dict[str, HostHealthComparison] = {}
    try:
        store = open_health_store(tsdb)
        try:
            for item in report.diffs:
                before, after = item.before.taken_at, item.after.taken_at
                found[item.host] = health_around(
                    store, item.after.host, before, after, window, thresholds
                )
        finally:
            store.close()
    except HealthNotCompared as failure:
        report.health_error = failure.reason
        report.diffs = [replace(d, health=not_compared_dict(d.host, failure.reason))
                        for d in report.diffs]  # fmt: skip
        return {}
    report.diffs = [replace(d, health=health_comparison_dict(found[d.host])) for d in report.diffs]
    return found
