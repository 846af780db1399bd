"""`pelihara collect`: health of the inventory's servers, over SNMP or SSH, into the store.

For cron on the collector host. A lock keeps two runs from overlapping; hosts are read
concurrently, each with its own timeouts; one host down never stops the others. Points go
through the durable spool, so a store that is down loses nothing (the next run sends them).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from pelihara.collector.credentials import load_credentials
from pelihara.collector.expectations import target_of
from pelihara.collector.health_points import snmp_readings, ssh_readings, to_points
from pelihara.collector.lock import run_lock
from pelihara.collector.probes.base import Probe, ProbeResult, ProbeStatus, Target
from pelihara.collector.selection import choose_servers
from pelihara.core.errors import ConfigurationError
from pelihara.core.paths import data_dir
from pelihara.inventory.db import transaction
from pelihara.timeseries import open_store, spool_path
from pelihara.timeseries.base import Point, StoreError
from pelihara.timeseries.spool import FlushResult, Spool

COLLECT_PROBES = ("snmp", "ssh")
HEALTH_TABLES = ("storage", "processors", "traffic")


@dataclass(frozen=True)
class CollectRequest:
    hosts: tuple[str, ...] = ()
    all_hosts: bool = False
    opd: str | None = None
    probes: tuple[str, ...] = ("snmp",)
    tsdb: str | None = None
    concurrency: int = 32
    timeout: float = 5.0
    known_hosts: tuple[Path, ...] = (Path("~/.ssh/known_hosts"),)
    ssh_user: str = "root"
    include_withdrawn: bool = False


@dataclass(frozen=True)
class Skipped:
    """A host not asked over SOURCE ("" : over none), and why."""

    host: str
    source: str
    reason: str


@dataclass
class CollectReport:
    results: list[ProbeResult] = field(default_factory=list)
    points: int = 0
    flush: FlushResult | None = None  # its error: unavailable, or raised (refused, auth)
    warnings: list[str] = field(default_factory=list)  # the spool's, e.g. no de-duplication
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def failed(self) -> list[ProbeResult]:
        return [r for r in self.results if not r.ok]


def _probes(request: CollectRequest) -> list[Probe]:
    unknown = set(request.probes) - set(COLLECT_PROBES)
    if unknown:
        raise ConfigurationError(f"collect probes are {', '.join(COLLECT_PROBES)}")
    credentials = load_credentials()
    probes: list[Probe] = []
    if "snmp" in request.probes:
        from pelihara.collector.probes.snmp import SnmpOptions, SnmpProbe

        options = SnmpOptions(credentials, timeout=request.timeout / 2, tables=HEALTH_TABLES)
        probes.append(SnmpProbe(options))
    if "ssh" in request.probes:
        from pelihara.collector.probes.ssh import SshOptions
        from pelihara.collector.probes.ssh_health import SshHealthProbe

        probes.append(SshHealthProbe(SshOptions(
            credentials.ssh, request.known_hosts, default_user=request.ssh_user,
            connect_timeout=request.timeout, concurrency=request.concurrency)))  # fmt: skip
    return probes


def points_of(result: ProbeResult, time_ns: int) -> list[Point]:
    """The health points one probe result gives (none for a failed one)."""
    if not result.ok:
        return []
    if result.source == "snmp":
        return to_points(result.host, "snmp", snmp_readings(result.data), time_ns)
    return to_points(result.host, "ssh", ssh_readings(result.data["health"]), time_ns)


NO_SNMP = "no SNMP settings (the inventory names no snmp_credential for it)"


def skipped_targets(targets: Sequence[Target], probes: Sequence[str]) -> list[Skipped]:
    """The hosts a probe cannot ask, and why: SNMP without the server's SNMP settings."""
    return [Skipped(t.hostname, "snmp", NO_SNMP)
            for t in targets if "snmp" in probes and t.snmp_credential is None]  # fmt: skip


def applicable(probe: Probe, target: Target) -> bool:
    return probe.name != "snmp" or target.snmp_credential is not None


async def _gather(
    targets: Sequence[Target], probes: Sequence[Probe], concurrency: int,
    on_result: Callable[[ProbeResult], None],
) -> None:  # fmt: skip
    gate = asyncio.Semaphore(concurrency)

    async def one(probe: Probe, target: Target) -> ProbeResult:
        async with gate:
            try:
                return await probe.probe(target)
            except Exception as exc:  # one host's failure must not end the run
                message = f"{type(exc).__name__}: {exc}"
                return ProbeResult(target.hostname, probe.name, ProbeStatus.ERROR, error=message)

    work = [one(p, t) for t in targets for p in probes if applicable(p, t)]
    try:
        for finished in asyncio.as_completed(work):
            on_result(await finished)
    finally:
        await asyncio.gather(*(probe.close() for probe in probes), return_exceptions=True)


def run_collect(
    factory: sessionmaker[Session],
    request: CollectRequest,
    on_result: Callable[[ProbeResult], None] = lambda _: None,
) -> CollectReport:
    """Collect once, under the collect lock; points are spooled, then flushed to the store."""
    with transaction(factory, commit=False) as session:  # database errors: DatabaseError
        selection = choose_servers(session, request.hosts, request.all_hosts, request.opd,
                                   request.include_withdrawn)  # fmt: skip
        targets = [target_of(server) for server in selection.servers]
    store = open_store(request.tsdb)
    report = CollectReport(skipped=[Skipped(host, "", "withdrawn") for host in selection.withdrawn])
    report.skipped += skipped_targets(targets, request.probes)
    with run_lock(data_dir() / "collect.lock", "pelihara collect"):
        spool = Spool(spool_path(store.url, "collect"), store, warn=report.warnings.append)
        try:

            def done(result: ProbeResult) -> None:
                points = points_of(result, time.time_ns())
                spool.add(points)
                report.results.append(result)
                report.points += len(points)
                on_result(result)

            asyncio.run(_gather(targets, _probes(request), request.concurrency, done))
            report.flush = flush_spool(spool)
        finally:
            spool.close()
            store.close()
    return report


def flush_spool(spool: Spool) -> FlushResult:
    """Send what waits; an error that no retry fixes (every request refused, credentials)
    comes back in the result too, after the hosts were read: every point is kept."""
    try:
        return spool.flush(deadline=None)
    except StoreError as error:
        return FlushResult(0, 0, spool.stats().pending, error)
