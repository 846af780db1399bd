"""`verify`'s run in the database, through a plain DB-API connection (`inventory.dbapi`):
started, filled host by host, finished with its audit entry. No SQLAlchemy here: a one-host
verify spent a third of its CPU importing it. `runs.py` reads the runs back through the ORM
(`verify show`, `verify list`), from the same tables (`collector.models`).

Hosts are written in batches about once a second (one multi-row INSERT per table), and an
interrupted run writes what it had before it is closed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pelihara.collector.findings import Finding
from pelihara.collector.outcomes import HostOutcome, seen_key, summary, with_new_keys
from pelihara.inventory.audit_rows import append_entries
from pelihara.inventory.dbapi import Db
from pelihara.inventory.statuses import utcnow

_RUN_COLUMNS = ("id", "started_at", "finished_at", "actor", "ticket", "probes", "hosts_total",
                "hosts_done", "interrupted", "exit_status")  # fmt: skip
_OBSERVATION = ("INSERT INTO verify_observation (run_id, host, source, status, error, data) "
                "VALUES (?, ?, ?, ?, ?, ?)")  # fmt: skip
_FINDING = ("INSERT INTO verify_finding (run_id, host, \"check\", source, status, severity, "
            "expected, observed, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")  # fmt: skip


@dataclass(frozen=True)
class RunRow:
    """A `verify_run` row as stored (`outcomes.RunLike`)."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    actor: str
    ticket: str | None
    probes: str
    hosts_total: int
    hosts_done: int
    interrupted: bool
    exit_status: int | None


def start_run(db: Db, actor: str, ticket: str | None, probes: list[str], hosts: int) -> int:
    """A new run, committed; its id."""
    run_id = db.insert(
        "INSERT INTO verify_run (started_at, actor, ticket, probes, hosts_total, hosts_done, "
        "interrupted) VALUES (?, ?, ?, ?, ?, 0, ?)",
        (db.time(utcnow()), actor, ticket, ",".join(probes), hosts, db.boolean(False)),
    )
    db.commit()
    return run_id


def load_row(db: Db, run_id: int) -> RunRow:
    """The run's row as stored now."""
    row = db.execute(
        f"SELECT {', '.join(_RUN_COLUMNS)} FROM verify_run WHERE id = ?", (run_id,)
    ).fetchone()
    values = dict(zip(_RUN_COLUMNS, row, strict=True))
    finished = values["finished_at"]
    return RunRow(**{**values, "started_at": db.read_time(values["started_at"]),
                     "finished_at": db.read_time(finished) if finished is not None else None,
                     "interrupted": bool(values["interrupted"])})  # fmt: skip


def record_new_keys(db: Db, actor: str, outcome: HostOutcome) -> HostOutcome:
    """Trust on first use through DB: see `outcomes.with_new_keys`."""

    def record(server_id: int, hostname: str, key_type: str, fingerprint: str) -> str | None:
        return _record_host_key(db, actor, server_id, hostname, key_type, fingerprint)

    return with_new_keys(outcome, record)


def _record_host_key(
    db: Db, actor: str, server_id: int, hostname: str, key_type: str, fingerprint: str
) -> str | None:
    """As `inventory.host_keys.record_host_key`: an upsert that keeps the first writer's key.
    None when FINGERPRINT is the key on record now; else the one recorded meanwhile."""
    db.lock_writes()
    now = db.time(utcnow())
    inserted = db.execute(
        "INSERT INTO host_key (server_id, key_type, fingerprint_sha256, first_seen, last_seen) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (server_id, key_type) DO NOTHING",
        (server_id, key_type, fingerprint, now, now),
    ).rowcount
    if inserted == 1:
        after = {"key_type": key_type, "fingerprint_sha256": fingerprint}
        append_entries(db, actor, [("trust", "host_key", hostname, None, after)])
        return None
    recorded = db.execute(
        "SELECT fingerprint_sha256 FROM host_key WHERE server_id = ? AND key_type = ?",
        (server_id, key_type),
    ).fetchone()
    return None if recorded is None or recorded[0] == fingerprint else str(recorded[0])


class RunRecorder:
    """Stores hosts' observations and findings, a batch about every EVERY seconds.

    A statement per host costs more than its rows: a batch is one multi-row INSERT per
    table, one UPDATE of the host keys seen again (`last_seen`), one UPDATE of the run's
    progress and one commit. Newly trusted host keys are written at once, with their audit
    entries.
    """

    def __init__(self, db: Db, run_id: int, actor: str, every: float = 1.0) -> None:
        self.db, self.run_id, self.actor, self.every = db, run_id, actor, every
        self._observations: list[tuple[Any, ...]] = []
        self._findings: list[tuple[Any, ...]] = []
        self._seen: list[tuple[int, str, str]] = []
        self._hosts = 0
        self._written = time.monotonic()

    def add(self, outcome: HostOutcome) -> HostOutcome:
        """Keep OUTCOME for the next batch; it is returned with a finding more when a key it
        trusted had been recorded otherwise meanwhile."""
        if any(r.seen_host_keys for r in outcome.results.values()):
            outcome = record_new_keys(self.db, self.actor, outcome)
            self.db.commit()
        seen = seen_key(outcome)
        if seen is not None:
            self._seen.append(seen)
        self._observations += [
            (self.run_id, r.host, r.source, r.status.value, r.error, self.db.json(r.data))
            for r in outcome.results.values()
        ]
        self._findings += [_finding_row(self.run_id, f) for f in outcome.findings]
        self._hosts += 1
        if time.monotonic() - self._written >= self.every:
            self.write()
        return outcome

    def write(self) -> None:
        """Everything added so far, committed."""
        db = self.db
        db.executemany(_OBSERVATION, self._observations)
        db.executemany(_FINDING, self._findings)
        mark_seen(db, sorted(set(self._seen)))
        db.execute("UPDATE verify_run SET hosts_done = hosts_done + ? WHERE id = ?",
                   (self._hosts, self.run_id))  # fmt: skip
        db.commit()
        self._observations, self._findings, self._seen, self._hosts = [], [], [], 0
        self._written = time.monotonic()


def mark_seen(db: Db, seen: list[tuple[int, str, str]], chunk: int = 500) -> None:
    """Set `last_seen` of the recorded keys SEEN (server id, key type, fingerprint) to now,
    in one UPDATE (per CHUNK keys); a key not on record is not touched."""
    now = db.time(utcnow())
    for start in range(0, len(seen), chunk):
        rows = seen[start : start + chunk]
        values = ", ".join("(?, ?, ?)" for _ in rows)
        db.execute(
            "UPDATE host_key SET last_seen = ? WHERE (server_id, key_type, fingerprint_sha256) "
            f"IN (VALUES {values})", (now, *(value for row in rows for value in row)),
        )  # fmt: skip


def _finding_row(run_id: int, finding: Finding) -> tuple[Any, ...]:
    f = finding.as_dict()
    return (run_id, f["host"], f["check"], f["source"], f["status"], f["severity"],
            f["expected"], f["observed"], f["message"])  # fmt: skip


@dataclass(frozen=True)
class _Stored:
    status: str
    severity: str


def stored_findings(db: Db, run_id: int) -> Sequence[_Stored]:
    """The run's findings as stored (status and severity: what its summary counts)."""
    rows = db.execute("SELECT status, severity FROM verify_finding WHERE run_id = ?", (run_id,))
    return [_Stored(status, severity) for status, severity in rows.fetchall()]


def finish_run(db: Db, run_id: int, exit_status: int, interrupted: bool, actor: str) -> RunRow:
    """Close the run and write it to the audit log, committed; the run as stored."""
    db.execute(
        "UPDATE verify_run SET finished_at = ?, exit_status = ?, interrupted = ? WHERE id = ?",
        (db.time(utcnow()), exit_status, db.boolean(interrupted), run_id),
    )
    run = load_row(db, run_id)
    after = {
        "ticket": run.ticket, "probes": run.probes, "hosts_total": run.hosts_total,
        "hosts_done": run.hosts_done, "exit_status": exit_status, "interrupted": interrupted,
        "findings": summary(stored_findings(db, run_id)),
    }  # fmt: skip
    append_entries(db, actor, [("verify", "verify_run", str(run_id), None, after)])
    db.commit()
    return run
