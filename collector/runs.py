"""Verification runs read back through the ORM (`verify show`, `verify list`, the audit
log's and the inventory's questions about them), and host keys trusted on first use by
`snapshot take`. `verify` itself writes its runs through `run_store` (no SQLAlchemy)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, String, and_, cast, select
from sqlalchemy.orm import Session, selectinload

from pelihara.collector.models import VerifyFinding, VerifyObservation, VerifyRun
from pelihara.collector.outcomes import HostOutcome, with_new_keys
from pelihara.core.errors import NotFoundError
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.host_keys import record_host_key
from pelihara.inventory.models import AuditEntry
from pelihara.inventory.queries import find_server


def record_new_keys(session: Session, audit: AuditLog, outcome: HostOutcome) -> HostOutcome:
    """Trust on first use through the ORM (`snapshot take`): see `outcomes.with_new_keys`."""

    def record(server_id: int, hostname: str, key_type: str, fingerprint: str) -> str | None:
        return record_host_key(session, audit, (server_id, hostname), key_type, fingerprint)

    return with_new_keys(outcome, record)


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


def runs_naming(session: Session, hostname: str) -> list[str]:
    """The verify runs that name HOSTNAME in a finding or an observation, as `verify run N`
    (what keeps `inventory remove` from taking the server out from under its history)."""
    findings = select(VerifyFinding.run_id).where(VerifyFinding.host == hostname)
    observations = select(VerifyObservation.run_id).where(VerifyObservation.host == hostname)
    ids = sorted(set(session.scalars(findings.union(observations))))
    return [f"verify run {run_id}" for run_id in ids]
