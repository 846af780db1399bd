"""Verification runs in the database: started, filled host by host, finished, shown again.

Hosts are written in batches about once a second (one multi-row INSERT per table), and an
interrupted run writes what it had before it is closed.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, cast, insert, select
from sqlalchemy.orm import Session, selectinload

from pelihara.collector.expectations import Expected
from pelihara.collector.findings import Finding, Severity, Status, host_verdicts
from pelihara.collector.models import VerifyFinding, VerifyObservation, VerifyRun
from pelihara.collector.probes.base import KnownHostKey, ProbeResult
from pelihara.core.errors import NotFoundError
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.db import table_of
from pelihara.inventory.host_keys import mark_seen, record_host_key
from pelihara.inventory.models import AuditEntry, utcnow
from pelihara.inventory.queries import find_server


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


def seen_key(outcome: HostOutcome) -> tuple[int, str, str] | None:
    """(server id, key type, fingerprint) of the host key the SSH probe was let in with."""
    ssh = outcome.results.get("ssh")
    seen = ssh.data.get("host_key") if ssh is not None and ssh.ok else None
    if not seen or outcome.expected.server_id is None:
        return None
    return outcome.expected.server_id, seen["key_type"], seen["fingerprint_sha256"]


def record_new_keys(session: Session, audit: AuditLog, outcome: HostOutcome) -> HostOutcome:
    """Trust on first use: the keys newly trusted are recorded. A key of that type that
    another run recorded meanwhile, different from this one, is a CHANGED key: critical."""
    expected = outcome.expected
    if expected.server_id is None:
        return outcome
    server = (expected.server_id, expected.hostname)
    changed = []
    for key in (k for r in outcome.results.values() for k in r.seen_host_keys):
        recorded = record_host_key(session, audit, server, key.key_type, key.fingerprint_sha256)
        if recorded is not None:
            changed.append(_changed_meanwhile(expected.hostname, key, recorded))
    if not changed:
        return outcome
    return dataclasses.replace(outcome, findings=[*outcome.findings, *changed])


def _changed_meanwhile(host: str, key: KnownHostKey, recorded: str) -> Finding:
    return Finding(
        host, "ssh.host_key", "ssh", Status.MISMATCH, Severity.CRITICAL, recorded,
        key.fingerprint_sha256,
        f"HOST KEY CHANGED for {host}: it offered {key.key_type} {key.fingerprint_sha256}, "
        f"while another run recorded {recorded} for it meanwhile; not recorded, and what was "
        "read over this connection is not trusted (check the key on the server's console; "
        "if it was re-keyed, `pelihara inventory forget-host-key`, then "
        "--trust-new-host-keys)",
    )  # fmt: skip


class RunRecorder:
    """Stores hosts' observations and findings, a batch about every EVERY seconds.

    A statement per host costs more than its rows (~3 ms of CPU on SQLite): a batch is one
    multi-row INSERT per table, one UPDATE of the host keys seen again (`last_seen`), one
    UPDATE of the run's progress and one commit. Newly trusted host keys are written at
    once, with their audit entries.
    """

    def __init__(self, session: Session, run_id: int, actor: str, every: float = 1.0) -> None:
        self.session, self.run_id, self.actor, self.every = session, run_id, actor, every
        self._observations: list[dict[str, Any]] = []
        self._findings: list[dict[str, Any]] = []
        self._seen: list[tuple[int, str, str]] = []
        self._hosts = 0
        self._written = time.monotonic()

    def add(self, outcome: HostOutcome) -> HostOutcome:
        """Keep OUTCOME for the next batch; it is returned with a finding more when a key it
        trusted had been recorded otherwise meanwhile."""
        if any(r.seen_host_keys for r in outcome.results.values()):
            outcome = record_new_keys(self.session, AuditLog(self.session, self.actor), outcome)
        seen = seen_key(outcome)
        if seen is not None:
            self._seen.append(seen)
        self._observations += [_observation(self.run_id, r) for r in outcome.results.values()]
        self._findings += [{"run_id": self.run_id, **f.as_dict()} for f in outcome.findings]
        self._hosts += 1
        if time.monotonic() - self._written >= self.every:
            self.write()
        return outcome

    def write(self) -> None:
        """Everything added so far, committed."""
        if self._observations:
            self.session.execute(insert(table_of(VerifyObservation)), self._observations)
        if self._findings:
            self.session.execute(insert(table_of(VerifyFinding)), self._findings)
        mark_seen(self.session, self._seen, utcnow())
        run = self.session.get_one(VerifyRun, self.run_id)
        run.hosts_done += self._hosts
        self.session.commit()
        self._observations, self._findings, self._seen, self._hosts = [], [], [], 0
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


@dataclass(frozen=True)
class RunFilter:
    """`verify list --host`, `--ticket`: runs that looked at HOST (a hostname, or an address
    or domain of a server in the inventory), runs of TICKET."""

    host: str | None = None
    ticket: str | None = None


def _hostname(session: Session, host: str) -> str:
    """HOST's hostname if the inventory knows it (by hostname, address or domain); else HOST
    as runs store it (a server since renamed or removed still has its runs)."""
    try:
        return find_server(session, host).hostname
    except NotFoundError:
        return host.strip().lower()


def list_runs(session: Session, limit: int, where: RunFilter | None = None) -> list[VerifyRun]:
    """The latest LIMIT runs, newest first, as WHERE asks."""
    stmt = select(VerifyRun).order_by(VerifyRun.id.desc()).limit(limit)
    if where is not None and where.ticket:
        stmt = stmt.where(VerifyRun.ticket == where.ticket)
    if where is not None and where.host:
        stmt = stmt.where(VerifyRun.id.in_(runs_of_host(session, where.host)))
    return list(session.scalars(stmt))


def runs_of_host(session: Session, host: str) -> Select[int]:
    """The ids of the runs that verified HOST (a subquery)."""
    hostname = _hostname(session, host)
    return select(VerifyFinding.run_id).where(VerifyFinding.host == hostname).distinct()


def verify_entries_of(session: Session, host: str) -> ColumnElement[bool]:
    """Audit entries of the verify runs that looked at HOST (`audit log --key HOST`)."""
    hostname = _hostname(session, host)
    run_keys = select(cast(VerifyFinding.run_id, String)).where(VerifyFinding.host == hostname)
    return and_(AuditEntry.entity == "verify_run", AuditEntry.entity_key.in_(run_keys))


def run_summary(run: VerifyRun) -> dict[str, Any]:
    """A run without its findings: what `verify list` shows."""
    return {
        "run": run.id, "started_at": run.started_at, "finished_at": run.finished_at,
        "actor": run.actor, "ticket": run.ticket, "probes": run.probes.split(","),
        "hosts_total": run.hosts_total, "hosts_done": run.hosts_done,
        "interrupted": run.interrupted, "exit_status": run.exit_status,
    }  # fmt: skip


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
        **run_summary(run), "summary": summary(found), "findings": rows,
        "verdicts": host_verdicts(rows),  # each host's, the worst of its findings
    }  # fmt: skip
    if observations:
        document["observations"] = [
            {"host": o.host, "source": o.source, "status": o.status, "error": o.error,
             "data": o.data}
            for o in run.observations
        ]  # fmt: skip
    return document


def runs_naming(session: Session, hostname: str) -> list[str]:
    """The verify runs that name HOSTNAME in a finding or an observation, as `verify run N`
    (what keeps `inventory remove` from taking the server out from under its history)."""
    findings = select(VerifyFinding.run_id).where(VerifyFinding.host == hostname)
    observations = select(VerifyObservation.run_id).where(VerifyObservation.host == hostname)
    ids = sorted(set(session.scalars(findings.union(observations))))
    return [f"verify run {run_id}" for run_id in ids]
