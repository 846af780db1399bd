"""`pelihara verify`: choose the servers, build the probes, scan, store the run.

SOP step 4: before anything is touched, prove that the server is the one on the request.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pelihara.collector.credentials import load_credentials
from pelihara.collector.expectations import Expected
from pelihara.collector.findings import Finding, exit_status
from pelihara.collector.outcomes import HostOutcome
from pelihara.collector.probes import make_probe
from pelihara.collector.probes.base import Probe
from pelihara.collector.probes.dns import DnsOptions, parse_nameserver
from pelihara.collector.run_store import RunRecorder, RunRow, finish_run, start_run
from pelihara.collector.scan import scan
from pelihara.collector.selection_rules import refuse_other_machines
from pelihara.collector.verify_rows import choose_rows
from pelihara.core.errors import ConfigurationError, DatabaseError, ExitCode
from pelihara.facts.bundle import VERIFY_BUNDLE
from pelihara.inventory.audit_rows import check_key
from pelihara.inventory.dbapi import BUSY_WAIT, Db, Where, connected, driver_errors

PROBES = ("ssh", "snmp", "dns", "local")
DEFAULT_PROBES = ("ssh", "snmp", "dns")
WRITE_SECONDS = 1.0  # how often finished hosts are written (see RunRecorder)
SNMP_TABLES = ("processor-count", "address-set", "entity-serials")  # what the checks read


@dataclass(frozen=True)
class VerifyRequest:
    """What to verify and how; the command line's options, as data."""

    hosts: tuple[str, ...] = ()
    all_hosts: bool = False
    opd: str | None = None
    probes: tuple[str, ...] = DEFAULT_PROBES
    ticket: str | None = None
    concurrency: int = 32
    trust_new_host_keys: bool = False
    known_hosts: tuple[Path, ...] = (Path("~/.ssh/known_hosts"),)
    ssh_user: str = "root"
    resolvers: tuple[str, ...] = ()
    timeout: float = 5.0
    include_withdrawn: bool = False


@dataclass
class VerifyReport:
    run_id: int
    hosts_total: int
    outcomes: list[HostOutcome] = field(default_factory=list)
    interrupted: bool = False
    withdrawn: list[str] = field(default_factory=list)  # left out: taken out of the DC
    run: RunRow | None = None  # the run as stored when closed

    @property
    def findings(self) -> list[Finding]:
        return [f for outcome in self.outcomes for f in outcome.findings]

    @property
    def exit_status(self) -> int:
        return exit_status(self.findings)


def select_hosts(db: Db, request: VerifyRequest) -> tuple[list[Expected], list[str]]:
    """The inventory's expectations for the servers the request names, and the withdrawn
    servers left out. `--probe local` looks at this machine: any other server is refused."""
    selection = choose_rows(db, request.hosts, request.all_hosts, request.opd,
                            request.include_withdrawn)  # fmt: skip
    hosts = [row.expected() for row in selection.servers]
    if "local" in request.probes:
        refuse_other_machines([expected.target for expected in hosts])
    return hosts, selection.withdrawn


def _dns_options(request: VerifyRequest) -> DnsOptions:
    try:
        parsed = [parse_nameserver(text) for text in request.resolvers]
    except ValueError as exc:
        raise ConfigurationError(f"--resolver: {exc}") from None
    servers = tuple((address, port or 53) for address, port in parsed)
    return DnsOptions(servers, request.timeout)


def probe_options(request: VerifyRequest, ssh_script: str | None) -> dict[str, dict[str, object]]:
    """Each probe's options as the request asks (credentials read only when needed); SSH
    runs SSH_SCRIPT, or its probe's own script when None."""
    unknown = set(request.probes) - set(PROBES)
    if unknown:
        raise ConfigurationError(
            f"unknown probe {', '.join(sorted(unknown))}: use {', '.join(PROBES)}"
        )
    credentials = load_credentials() if {"ssh", "snmp"} & set(request.probes) else None
    options: dict[str, dict[str, object]] = {"local": {}, "dns": {"options": _dns_options(request)}}
    if credentials is not None:
        from pelihara.collector.probes.snmp import SnmpOptions
        from pelihara.collector.probes.ssh import SshOptions

        script = {"script": ssh_script} if ssh_script else {}
        options["ssh"] = {**script, "options": SshOptions(
            credentials.ssh, request.known_hosts, request.trust_new_host_keys,
            request.ssh_user, connect_timeout=request.timeout,
            concurrency=request.concurrency)}  # fmt: skip
        options["snmp"] = {"options": SnmpOptions(
            credentials, timeout=request.timeout / 2, tables=SNMP_TABLES)}  # fmt: skip
    return options


def build_probes(request: VerifyRequest) -> list[Probe]:
    """The probes the request names, configured (SSH with the lighter verify bundle)."""
    options = probe_options(request, VERIFY_BUNDLE)
    return [make_probe(name, **options[name]) for name in request.probes]


class Writer:
    """A scan's database work on one worker thread, in order: a lock held by another writer
    (up to the engine's busy wait) or a slow commit never stalls the scan's event loop.

    The session behind STORE is only ever used by that thread until `drain()`; an error
    there is raised again in the loop at the next host (the scan stops, as it did when the
    write ran in the loop) and by `raise_error()`. STORE returns the outcome as stored."""

    def __init__(self, store: Callable[[HostOutcome], HostOutcome]) -> None:
        self._store = store
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pelihara-db")
        self.error: BaseException | None = None

    def add(self, outcome: HostOutcome) -> Future[HostOutcome]:
        """Hand OUTCOME over; the future is the outcome as stored (see `RunRecorder.add`)."""
        self.raise_error()
        return self._thread.submit(self._add, outcome)

    def _add(self, outcome: HostOutcome) -> HostOutcome:
        if self.error is None:
            try:
                return self._store(outcome)
            except BaseException as exc:  # handed to the loop's thread
                self.error = exc
        return outcome

    def drain(self) -> None:
        """Wait for every host handed over to be added (the thread then ends)."""
        self._thread.shutdown(wait=True)

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error


def run_verify(
    database: Where,
    request: VerifyRequest,
    actor: str,
    on_host: Callable[[HostOutcome], None] = lambda _: None,
    on_start: Callable[[int], None] = lambda _: None,
    busy_wait: float = BUSY_WAIT,
) -> VerifyReport:
    """Verify the requested servers and store the run in DATABASE; Ctrl-C keeps the hosts
    done so far. ON_START is told how many hosts there are, ON_HOST each host as it is done.

    A database error (locked, full, read-only) stops the scan: the transaction is rolled
    back, the run closed with exit status 6 where the database still lets it, and a
    `DatabaseError` naming the database and the run is raised.
    """
    run_id: int | None = None
    errors = driver_errors(database)
    try:
        with connected(database, busy_wait) as db:
            hosts, withdrawn = select_hosts(db, request)
            check_key(db)  # a run that could not be closed in the audit log is not started
            on_start(len(hosts))
            probes = build_probes(request)
            run_id = start_run(db, actor, request.ticket, list(request.probes), len(hosts))
            report = VerifyReport(run_id, len(hosts), withdrawn=withdrawn)
            _scan_and_store(db, report, hosts, probes, request, actor, on_host)
    except DatabaseError as exc:
        if run_id is None or not isinstance(exc.__cause__, errors):
            raise
        raise DatabaseError(f"{exc}; verify run {run_id} stopped, not all of it stored") from exc
    return report


def _scan_and_store(
    db: Db, report: VerifyReport, hosts: list[Expected], probes: list[Probe],
    request: VerifyRequest, actor: str, on_host: Callable[[HostOutcome], None],
) -> None:  # fmt: skip
    recorder = RunRecorder(db, report.run_id, actor, WRITE_SECONDS)
    writer = Writer(recorder.add)
    failures: list[Exception] = []

    def done(outcome: HostOutcome) -> None:
        if failures:  # the scan is stopping: a host finishing meanwhile is not stored
            return
        try:
            pending = writer.add(outcome)
        except db.errors as exc:  # the worker's, raised at the next host
            failures.append(exc)
            raise
        if any(result.seen_host_keys for result in outcome.results.values()):
            # A key trusted on first use may have been recorded otherwise meanwhile; the
            # recorder then adds a CHANGED finding: wait for it (trust runs only).
            outcome = pending.result()
        report.outcomes.append(outcome)
        on_host(outcome)

    with frozen_garbage():
        try:
            asyncio.run(scan(hosts, probes, request.concurrency, done))
        except KeyboardInterrupt:
            report.interrupted = True
        except db.errors as exc:  # handled as the run is closed
            failures[:] = failures or [exc]
        finally:  # Ctrl-C keeps every host done: written before the run is closed
            writer.drain()
            if isinstance(writer.error, db.errors) and not failures:
                failures.append(writer.error)
            _close_run(db, recorder, report, actor, failures)
    writer.raise_error()  # not the database's: the run is closed, the error goes on


def _close_run(
    db: Db, recorder: RunRecorder, report: VerifyReport, actor: str, failures: list[Exception]
) -> None:
    """Write what is left and close the run. After a database error the transaction is
    rolled back first, and the run is closed with exit status 6 if the database allows;
    the first error is raised again either way."""
    if not failures:
        try:
            recorder.write()
        except db.errors as exc:
            failures.append(exc)
    if failures:
        db.rollback()
    status = ExitCode.DATABASE if failures else report.exit_status
    try:
        report.run = finish_run(db, report.run_id, status, report.interrupted, actor)
    except db.errors as exc:
        db.rollback()
        failures.append(exc)
    if failures:
        raise failures[0]


@contextmanager
def frozen_garbage() -> Iterator[None]:
    """The objects alive now (imports, the inventory's) will live as long as the run: out of
    the collector's way, they are not walked again at every collection of the probes'
    garbage (pyasn1 makes a lot). Measured: ~5 % of a fleet verify's CPU. For the run
    only: the caller's process gets its collector back as it was."""
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    try:
        yield
    finally:
        if frozen_before == 0:  # else the caller froze objects of its own: leave them so
            gc.unfreeze()
