"""`pelihara snapshot take`: capture servers' whole state, store each as it is done.

SOP step 7: before (`pre`) and after (`post`) the work, each server's full facts (the full
SSH bundle, not verify's lighter one; or this machine's agent with `--probe local`), one
health sample, and the SNMP and DNS views where asked. Server selection, credentials, the
host-key policy, concurrency and Ctrl-C are verify's (`collector.verify`): the hosts done
are kept. Each host is written as it finishes (its row, its audit entry with the hash, one
commit), then its numbers go to the time-series spool: a store that is down keeps them in
the spool, and never takes the snapshot with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from pelihara.collector.collect import applicable, flush_spool
from pelihara.collector.expectations import Expected
from pelihara.collector.outcomes import HostOutcome, seen_key
from pelihara.collector.probes import make_probe
from pelihara.collector.probes.base import Probe, ProbeResult
from pelihara.collector.runs import record_new_keys
from pelihara.collector.scan import probe_host, scan
from pelihara.collector.selection import select_hosts
from pelihara.collector.snapshot_points import snapshot_points
from pelihara.collector.snapshot_store import store_snapshot
from pelihara.collector.verify import VerifyRequest, Writer, frozen_garbage, probe_options
from pelihara.core.errors import ConfigurationError, DatabaseError, ExitCode
from pelihara.facts.snapshot import ProbeView, Snapshot, health_from_readings
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.db import describe_database_error
from pelihara.inventory.host_keys import mark_seen
from pelihara.timeseries import open_store, spool_path
from pelihara.timeseries.spool import FlushResult, Spool

FACTS_PROBES = ("ssh", "local")  # a snapshot needs the facts: one of these
NO_SNMP = "skipped: the inventory names no snmp_credential for it"


@dataclass(frozen=True)
class SnapshotRequest:
    """What to capture: SCAN is verify's request (servers, probes, ticket, credentials,
    host keys, concurrency); PHASE pre, post or adhoc; TSDB the store's URL."""

    scan: VerifyRequest
    phase: str = "adhoc"
    tsdb: str | None = None


@dataclass(frozen=True)
class Taken:
    """One host: its snapshot (id and hash) or None, and what went wrong (a failed view
    keeps the snapshot; no facts, none)."""

    host: str
    snapshot_id: int | None
    sha256: str | None = None
    problems: tuple[str, ...] = ()


@dataclass
class TakeReport:
    hosts_total: int
    taken: list[Taken] = field(default_factory=list)
    interrupted: bool = False
    withdrawn: list[str] = field(default_factory=list)
    points: int = 0
    flush: FlushResult | None = None
    warnings: list[str] = field(default_factory=list)  # the spool's

    @property
    def exit_status(self) -> int:
        """0 every host captured whole; 4 a host (or one of its views) could not be."""
        return ExitCode.UNREACHABLE if any(t.problems for t in self.taken) else ExitCode.OK


def check_probes(probes: tuple[str, ...]) -> None:
    """A snapshot holds the facts: ssh or local, not both (two readings of one machine)."""
    sources = [name for name in probes if name in FACTS_PROBES]
    if len(sources) != 1:
        raise ConfigurationError(
            "a snapshot reads the facts over ssh or with local (this machine): name one "
            "of them in --probe, with snmp and dns as you wish"
        )


def build_probes(request: VerifyRequest) -> list[Probe]:
    """Verify's probes, but SSH and local read the full facts and a health sample."""
    options = probe_options(request, ssh_script=None)
    kinds = {"ssh": "ssh-snapshot", "local": "local-snapshot"}
    return [make_probe(kinds.get(name, name), **options[name]) for name in request.probes]


async def observe(expected: Expected, probes: Sequence[Probe]) -> HostOutcome:
    """All applicable probes of one host at once (SNMP only where the inventory has its
    settings); no checks: a snapshot records, the diff compares."""
    asked = [probe for probe in probes if applicable(probe, expected.target)]
    return HostOutcome(expected, await probe_host(expected, asked), [])


def _view(name: str, request: SnapshotRequest, results: dict[str, ProbeResult]) -> ProbeView | None:
    if name not in request.scan.probes:
        return None
    result = results.get(name)
    if result is None:
        return ProbeView("skipped", NO_SNMP)
    return ProbeView(str(result.status), result.error, result.data if result.ok else {})


def _failed_views(snapshot: Snapshot) -> tuple[str, ...]:
    views = {"snmp": snapshot.snmp, "dns": snapshot.dns}
    return tuple(f"{name} {view.status}: {view.error or ''}".rstrip(": ")
                 for name, view in views.items()
                 if view is not None and view.status not in ("ok", "skipped"))  # fmt: skip


def snapshot_of(outcome: HostOutcome, request: SnapshotRequest, taken_at: datetime) -> Snapshot:
    """The snapshot an outcome gives (its facts probe succeeded)."""
    source = next(outcome.results[n] for n in FACTS_PROBES if n in outcome.results)
    assert source.facts is not None  # an OK facts probe always has them
    health = source.data.get("health")
    return Snapshot(
        host=outcome.expected.hostname, phase=request.phase, ticket=request.scan.ticket,
        taken_at=taken_at, probes=request.scan.probes, facts=source.facts,
        health=health_from_readings(health) if health is not None else None,
        snmp=_view("snmp", request, outcome.results), dns=_view("dns", request, outcome.results),
    )  # fmt: skip


class _Taker:
    """Stores each host as it comes (on the writer's thread): trusted keys recorded, the
    snapshot written and committed with its audit entry, then its points spooled."""

    def __init__(self, session: Session, actor: str, request: SnapshotRequest, spool: Spool,
                 report: TakeReport) -> None:  # fmt: skip
        self.session, self.actor, self.request = session, actor, request
        self.spool, self.report = spool, report

    def add(self, outcome: HostOutcome) -> HostOutcome:
        self.report.taken.append(self._take(outcome))
        return outcome

    def _take(self, outcome: HostOutcome) -> Taken:
        host = outcome.expected.hostname
        if any(r.seen_host_keys for r in outcome.results.values()):
            outcome = record_new_keys(self.session, AuditLog(self.session, self.actor), outcome)
            self.session.commit()
        failed = [f"{r.source} {r.status}: {r.error}" for r in outcome.results.values()
                  if r.source in FACTS_PROBES and not r.ok]  # fmt: skip
        failed += [finding.message for finding in outcome.findings]  # a key changed meanwhile
        if failed or outcome.expected.server_id is None:
            return Taken(host, None, problems=tuple(failed) or ("not in the inventory",))
        snapshot = snapshot_of(outcome, self.request, datetime.now(UTC))
        seen = seen_key(outcome)  # the host key it was let in with: seen now
        mark_seen(self.session, [seen] if seen else [], snapshot.taken_at)
        record = store_snapshot(self.session, self.actor, outcome.expected.server_id, snapshot)
        points = snapshot_points(snapshot)
        self.spool.add(points)
        self.report.points += len(points)
        return Taken(host, record.id, record.sha256, _failed_views(snapshot))


def take_snapshots(
    factory: sessionmaker[Session],
    request: SnapshotRequest,
    actor: str,
    on_host: Callable[[HostOutcome], None] = lambda _: None,
    on_start: Callable[[int], None] = lambda _: None,
) -> TakeReport:
    """Capture and store the requested servers; Ctrl-C keeps the hosts done so far.
    ON_START is told how many hosts there are, ON_HOST each host as it is done.
    A database error stops the take: the snapshots committed before it are kept."""
    check_probes(request.scan.probes)
    try:
        with factory() as session:
            scan = request.scan
            hosts, withdrawn = select_hosts(session, scan.hosts, scan.all_hosts, scan.opd,
                                            scan.include_withdrawn, scan.probes)  # fmt: skip
            on_start(len(hosts))
            probes = build_probes(request.scan)
            report = TakeReport(len(hosts), withdrawn=withdrawn)
            _capture(session, report, hosts, probes, request, actor, on_host)
    except SQLAlchemyError as exc:
        message = describe_database_error(exc, factory.kw.get("bind"))
        raise DatabaseError(f"{message}; the snapshots taken before it are kept") from exc
    return report


def _capture(
    session: Session, report: TakeReport, hosts: list[Expected], probes: list[Probe],
    request: SnapshotRequest, actor: str, on_host: Callable[[HostOutcome], None],
) -> None:  # fmt: skip
    store = open_store(request.tsdb)
    spool = Spool(spool_path(store.url, "snapshot"), store, warn=report.warnings.append)
    writer = Writer(_Taker(session, actor, request, spool, report).add)

    def done(outcome: HostOutcome) -> None:
        writer.add(outcome)
        on_host(outcome)

    try:
        with frozen_garbage():
            asyncio.run(scan(hosts, probes, request.scan.concurrency, done, look=observe))
    except KeyboardInterrupt:
        report.interrupted = True
    finally:  # Ctrl-C keeps every host done: written before the points are sent
        writer.drain()
        try:
            if writer.error is None and not report.interrupted:
                report.flush = flush_spool(spool)
        finally:
            spool.close()
            store.close()
    writer.raise_error()
