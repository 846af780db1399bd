"""Verification runs in the database: started, filled host by host, finished, shown again.

Hosts are written in batches about once a second (one multi-row INSERT per table), and an
interrupted run writes what it had before it is closed.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from pelihara.collector.expectations import Expected
from pelihara.collector.findings import Finding, Severity, Status, host_verdicts
from pelihara.collector.models import VerifyFinding, VerifyObservation, VerifyRun
from pelihara.collector.probes.base import KnownHostKey, ProbeResult
from pelihara.core.errors import NotFoundError
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.db import table_of
from pelihara.inventory.models import HostKey, Server, utcnow


@dataclass(frozen=True)
class HostOutcome:
    """One host, verified: the probes' results and the findings drawn from them."""

    expected: Expected
    results: dict[str, ProbeResult]
    findings: list[Finding]


def start_run(
    session: Session, actor: str, ticket: str | None, probes: list[str], hosts: int
) -> int:
    run = VerifyRun(actor=actor, ticket=ticket, probes=",".join(probes), hosts_total=hosts)
    session.add(run)
    session.commit()
    return run.id


def _observation(run_id: int, result: ProbeResult) -> dict[str, Any]:
    return {"run_id": run_id, "host": result.host, "source": result.source,
            "status": result.status.value, "error": result.error, "data": result.data}  # fmt: skip


def _record_host_keys(session: Session, audit: AuditLog, outcome: HostOutcome) -> None:
    """Trust on first use: keys newly trusted are recorded; known ones get last_seen."""
    ssh = outcome.results.get("ssh")
    if ssh is None or not ssh.ok:
        return
    server = session.scalars(
        select(Server).where(Server.hostname == outcome.expected.hostname)
    ).one()
    seen = ssh.data.get("host_key") or {}
    for key in server.host_keys:
        if (key.key_type, key.fingerprint_sha256) == (
            seen.get("key_type"),
            seen.get("fingerprint_sha256"),
        ):
            key.last_seen = utcnow()
    for new in ssh.seen_host_keys:
        _add_host_key(server, audit, new)


def _add_host_key(server: Server, audit: AuditLog, key: KnownHostKey) -> None:
    server.host_keys.append(
        HostKey(key_type=key.key_type, fingerprint_sha256=key.fingerprint_sha256)
    )
    after = {"key_type": key.key_type, "fingerprint_sha256": key.fingerprint_sha256}
    audit.append("trust", "host_key", server.hostname, None, after)


class RunRecorder:
    """Stores hosts' observations and findings, a batch about every EVERY seconds.

    A statement per host costs more than its rows (~3 ms of CPU on SQLite): a batch is one
    multi-row INSERT per table, one UPDATE of the run's progress and one commit. Newly
    trusted host keys are written at once, with their audit entries.
    """

    def __init__(self, session: Session, run_id: int, actor: str, every: float = 1.0) -> None:
        self.session, self.run_id, self.actor, self.every = session, run_id, actor, every
        self._observations: list[dict[str, Any]] = []
        self._findings: list[dict[str, Any]] = []
        self._hosts = 0
        self._written = time.monotonic()

    def add(self, outcome: HostOutcome) -> None:
        self._observations += [_observation(self.run_id, r) for r in outcome.results.values()]
        self._findings += [{"run_id": self.run_id, **f.as_dict()} for f in outcome.findings]
        self._hosts += 1
        if any(r.seen_host_keys for r in outcome.results.values()):
            _record_host_keys(self.session, AuditLog(self.session, self.actor), outcome)
        if time.monotonic() - self._written >= self.every:
            self.write()

    def write(self) -> None:
        """Everything added so far, committed."""
        if self._observations:
            self.session.execute(insert(table_of(VerifyObservation)), self._observations)
        if self._findings:
            self.session.execute(insert(table_of(VerifyFinding)), self._findings)
        run = self.session.get_one(VerifyRun, self.run_id)
        run.hosts_done += self._hosts
        self.session.commit()
        self._observations, self._findings, self._hosts = [], [], 0
        self._written = time.monotonic()


def summary(findings: list[Finding] | list[VerifyFinding]) -> dict[str, int]:
    """Counts by status, and how many are failing (not merely informative)."""
    counts = Counter(str(f.status) for f in findings)
    counts["failing"] = sum(
        1
        for f in findings
        if f.status in (Status.MISMATCH, Status.MISSING) and f.severity != Severity.INFO
    )
    return dict(sorted(counts.items()))


def finish_run(
    session: Session, run_id: int, exit_status: int, interrupted: bool, actor: str
) -> None:
    """Close the run and write it to the audit log."""
    run = session.get_one(VerifyRun, run_id)
    run.finished_at, run.exit_status, run.interrupted = utcnow(), exit_status, interrupted
    after = {
        "ticket": run.ticket, "probes": run.probes, "hosts_total": run.hosts_total,
        "hosts_done": run.hosts_done, "exit_status": exit_status, "interrupted": interrupted,
        "findings": summary(list(run.findings)),
    }  # fmt: skip
    AuditLog(session, actor).append("verify", "verify_run", str(run_id), None, after)
    session.commit()


def load_run(
    session: Session, run_id: int, findings: bool = True, observations: bool = False
) -> VerifyRun:
    """The run, with its findings and raw observations (large) as asked."""
    stmt = select(VerifyRun).where(VerifyRun.id == run_id)
    if findings:
        stmt = stmt.options(selectinload(VerifyRun.findings))
    if observations:
        stmt = stmt.options(selectinload(VerifyRun.observations))
    run = session.scalars(stmt).first()
    if run is None:
        raise NotFoundError(f"no verification run {run_id}")
    return run


def list_runs(session: Session, limit: int) -> list[VerifyRun]:
    return list(session.scalars(select(VerifyRun).order_by(VerifyRun.id.desc()).limit(limit)))


def run_document(
    run: VerifyRun, observations: bool = False, findings: list[Finding] | None = None
) -> dict[str, Any]:
    """A run as JSON-ready data (what `--format json` prints): with OBSERVATIONS, what each
    probe saw of each host, as stored (load the run with them). FINDINGS: the run's, when
    the caller has them already (`verify run`; the same rows as stored, in the same order)."""
    found: list[Finding] | list[VerifyFinding] = run.findings if findings is None else findings
    rows = [
        {c: str(getattr(f, c)) if c in ("status", "severity") else getattr(f, c)
         for c in ("host", "check", "source", "status", "severity", "expected", "observed",
                   "message")}
        for f in found
    ]  # fmt: skip
    document = {
        "run": run.id, "started_at": run.started_at, "finished_at": run.finished_at,
        "actor": run.actor, "ticket": run.ticket, "probes": run.probes.split(","),
        "hosts_total": run.hosts_total, "hosts_done": run.hosts_done,
        "interrupted": run.interrupted, "exit_status": run.exit_status,
        "summary": summary(found), "findings": rows,
        "verdicts": host_verdicts(rows),  # each host's, the worst of its findings
    }  # fmt: skip
    if observations:
        document["observations"] = [
            {"host": o.host, "source": o.source, "status": o.status, "error": o.error,
             "data": o.data}
            for o in run.observations
        ]  # fmt: skip
    return document
