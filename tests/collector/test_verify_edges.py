"""`verify` at its edges: what it leaves behind in the caller's process, a database that
fails under it, checks that raise or have no data, and the per-host verdict."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from pelihara import migrations
from pelihara.cli.main import cli
from pelihara.collector.checks import verify_host
from pelihara.collector.credentials import Credentials, Secret, SnmpCredentials, SshCredentials
from pelihara.collector.expectations import Expected
from pelihara.collector.findings import Finding, Severity, Status, host_verdict
from pelihara.collector.models import VerifyObservation, VerifyRun
from pelihara.collector.probes.base import ProbeResult, ProbeStatus, Target
from pelihara.collector.probes.snmp import SnmpOptions, SnmpProbe
from pelihara.collector.runs import HostOutcome
from pelihara.collector.scan import scan
from pelihara.collector.verify import SNMP_TABLES, VerifyRequest, run_verify
from pelihara.core.errors import DatabaseError
from pelihara.inventory import audit
from pelihara.inventory.db import make_engine, session_factory, transaction
from pelihara.inventory.importer import import_file
from tests.collector.where import where
from tests.realservers.dnsmasq import running_dnsmasq
from tests.realservers.snmpd import LIMITED_COMMUNITY, SnmpAgent, running_snmpd

Factory = sessionmaker[Session]


@pytest.fixture
def database(tmp_path: Path) -> tuple[str, Factory]:
    url = f"sqlite:///{tmp_path / 'verify.db'}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    return url, session_factory(engine)


def _inventory(factory: Factory, path: Path, *lines: str) -> None:
    """Import servers given as CSV lines under the header hostname,ip,domain,opd."""
    path.write_text("\n".join(("hostname,ip,domain,opd", *lines)) + "\n", encoding="utf-8")
    import_file(factory, path, "tester")


SIDE_EFFECTS = """
import gc, json, sys
from pathlib import Path
from pelihara import migrations
from pelihara.cli.main import cli
from pelihara.collector.verify import VerifyRequest, run_verify
from pelihara.core.errors import DatabaseError
from pelihara.inventory import audit
from pelihara.inventory.db import make_engine, session_factory, transaction
from pelihara.inventory.dbapi import where_of
from pelihara.inventory.importer import import_file
import pelihara.collector.collect, pelihara.collector.probes.ssh  # paramiko too
imported = repr(sys.modules.get("invoke", "not imported"))
engine = make_engine(sys.argv[1])
migrations.upgrade(engine)
factory = session_factory(engine)
import_file(factory, Path(sys.argv[2]), "tester")
run_verify(where_of(sys.argv[1]), VerifyRequest(hosts=("pltest-local",), probes=("local",)),
           "tester")
print(json.dumps({"invoke": imported, "frozen": gc.get_freeze_count()}))
"""


def test_importing_and_verifying_leave_the_process_as_it_was(tmp_path: Path) -> None:
    """A program that imports pelihara's collector and runs a verify keeps its `invoke`
    (before: blocked by an import of `pelihara.collector.probes`) and its garbage
    collector (before: `gc.freeze()` for good)."""
    csv = tmp_path / "one.csv"
    csv.write_text("hostname,ip,domain,opd\npltest-local,127.0.0.1,local.test,Uji\n", "utf-8")
    argv = [sys.executable, "-c", SIDE_EFFECTS, f"sqlite:///{tmp_path / 'p.db'}", str(csv)]
    result = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120)
    state = json.loads(result.stdout)
    assert state["invoke"].startswith("<module 'invoke'"), state
    assert state["frozen"] == 0


def _snmp_findings(agent: SnmpAgent, community: str, cpu_cores: int) -> list[Finding]:
    """The checks' findings from the SNMP probe alone, on the real snmpd AGENT."""
    credentials = Credentials(SshCredentials(), {"V2": SnmpCredentials("v2", "2c",
                              community=Secret(community))})  # fmt: skip
    target = Target("pltest-snmp", "pltest.test.lab", (agent.host,), snmp_port=agent.port,
                    snmp_version="2c", snmp_credential="v2")  # fmt: skip
    probe = SnmpProbe(SnmpOptions(credentials, tables=SNMP_TABLES))

    async def once() -> ProbeResult:
        try:
            return await probe.probe(target)
        finally:
            await probe.close()

    result = asyncio.run(once())
    assert result.ok, result.error
    return verify_host(Expected(target, cpu_cores=cpu_cores), {"snmp": result})


def test_snmp_cpu_cores_right_after_snmpd_starts() -> None:
    """net-snmp fills hrProcessorLoad a minute after it starts; the rows are there at once
    (hrProcessorFrwID). Before: no cpu_cores finding at all for that minute."""
    cores = os.cpu_count() or 1
    with running_snmpd() as fresh:  # probed at once
        findings = _snmp_findings(fresh, fresh.community, cores)
    [cpu] = [f for f in findings if f.check == "cpu_cores"]
    assert (cpu.status, cpu.observed) == (Status.OK, str(cores))


def test_snmp_checks_without_data_are_missing_not_absent(snmpd_server: SnmpAgent) -> None:
    """An agent whose view hides hrProcessorTable and the address tables: each check says it
    had no data (missing, info) rather than vanishing, or failing every address."""
    findings = _snmp_findings(snmpd_server, LIMITED_COMMUNITY, os.cpu_count() or 1)
    by_check = {f.check: f for f in findings}
    for check in ("cpu_cores", "ip"):
        finding = by_check[check]
        assert (finding.status, finding.severity) == (Status.MISSING, Severity.INFO), check
    assert by_check["cpu_cores"].message == "hrProcessorTable has no rows"
    assert [f.check for f in findings].count("ip") == 1


def _finding(check: str, status: Status, severity: Severity = Severity.WARNING) -> Finding:
    return Finding("h", check, "ssh", status, severity)


@pytest.mark.parametrize(
    ("findings", "verdict"),
    [
        ([_finding("hostname", Status.OK)], "ok"),
        ([_finding("dns.reverse 10.0.0.1", Status.ERROR)], "error"),
        ([_finding("dns.reverse 10.0.0.1", Status.ERROR), _finding("os", Status.MISMATCH)],
         "mismatch"),
        ([_finding("os", Status.MISMATCH), _finding("snmp.reach", Status.UNREACHABLE)],
         "unreachable"),
        ([_finding("ssh.host_key", Status.MISMATCH, Severity.CRITICAL),
          _finding("ssh.reach", Status.ERROR)], "critical"),
        ([_finding("dns.forward", Status.MISMATCH, Severity.CRITICAL),
          _finding("ssh.reach", Status.UNREACHABLE)], "critical"),
        ([_finding("fqdn", Status.MISMATCH, Severity.INFO)], "ok"),
    ],
    ids=["ok", "check-error", "mismatch", "unreachable", "host-key", "elsewhere", "info"],
)  # fmt: skip
def test_host_verdict_ranks_a_critical_mismatch_first(
    findings: list[Finding], verdict: str
) -> None:
    """Worst first: critical, unreachable (a source could not look), mismatch, error (one
    check could not be made), ok. Before: "unreachable" hid a changed host key."""
    assert host_verdict(f.as_dict() for f in findings) == verdict


# A validating dnsmasq in front of the reverse zone 192.0.2.0/24, with a trust anchor for
# it, forwarding it to a second dnsmasq that serves it unsigned: the answer is bogus, and
# the front answers SERVFAIL (at once: no timeout involved). A real SERVFAIL, on one PTR.
ROOT_ANCHOR = (
    "--trust-anchor=.,20326,8,2,E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D"
)
ZONE_ANCHOR = "--trust-anchor=2.0.192.in-addr.arpa,12345,8,2," + "0123456789abcdef" * 4


def test_a_servfail_on_one_ptr_is_that_checks_error_not_the_host_unreached(
    database: tuple[str, Factory], tmp_path: Path
) -> None:
    upstream_zone = ["--local=/2.0.192.in-addr.arpa/",
                     "--ptr-record=5.2.0.192.in-addr.arpa,pltest.verify.lab"]  # fmt: skip
    with running_dnsmasq(upstream_zone) as upstream, running_dnsmasq([
        "--local=/verify.lab/", "--address=/pltest.verify.lab/192.0.2.5", "--dnssec",
        ROOT_ANCHOR, ZONE_ANCHOR, f"--server=/2.0.192.in-addr.arpa/127.0.0.1#{upstream.port}",
    ]) as front:  # fmt: skip
        _inventory(database[1], tmp_path / "one.csv", "pltest,192.0.2.5,pltest.verify.lab,Uji")
        request = VerifyRequest(hosts=("pltest",), probes=("dns",),
                                resolvers=(f"127.0.0.1:{front.port}",))  # fmt: skip
        report = run_verify(where(database[1]), request, "tester")
    by_check = {f.check: f for f in report.findings}
    assert by_check["dns.forward"].status is Status.OK
    ptr = by_check["dns.reverse 192.0.2.5"]
    assert (ptr.status, ptr.observed) == (Status.ERROR, "servfail")
    assert "dns.reach" not in by_check  # the DNS server answered: the host was reached
    assert host_verdict(f.as_dict() for f in report.findings) == "error"
    assert report.exit_status == 4  # one check could not be made: not verified


class _OddAnswers:
    """An SNMP probe's result that the checks do not expect for host "odd" (no address
    table key at all), as a bug or a strange agent could give; a normal one for the rest."""

    name = "snmp"

    async def probe(self, target: Target) -> ProbeResult:
        data = {"sysName": target.hostname, "processors": [], "entities": [],
                "addresses": [{"address": target.addresses[0], "if_index": 1}]}  # fmt: skip
        if target.hostname == "odd":
            del data["addresses"]
        return ProbeResult(target.hostname, self.name, ProbeStatus.OK, data=data)

    async def close(self) -> None:
        return None


def test_a_check_that_raises_is_an_error_of_that_host_only() -> None:
    """Before: the KeyError ended the whole scan with a traceback."""
    hosts = [Expected(Target(name, f"{name}.test", (address,)), cpu_cores=2)
             for name, address in (("odd", "127.0.0.7"), ("fine", "127.0.0.8"))]  # fmt: skip
    outcomes: list[HostOutcome] = []
    asyncio.run(scan(hosts, [_OddAnswers()], 2, outcomes.append))
    findings = {o.expected.hostname: o.findings for o in outcomes}
    [broken] = [f for f in findings["odd"] if f.status is Status.ERROR]
    assert (broken.check, broken.source) == ("addresses", "all")
    assert broken.message == "the check failed: KeyError: 'addresses'"
    assert {f.check for f in findings["odd"]} >= {"hostname", "cpu_cores", "addresses"}
    assert not [f for f in findings["fine"] if f.status is Status.ERROR]


TWO_HOSTS = ("pltest-a,127.0.0.1,a.test.lab,Uji", "pltest-b,127.0.0.2,b.test.lab,Uji")


def _stored_run(factory: Factory) -> tuple[VerifyRun, int]:
    with transaction(factory, commit=False) as session:
        run = session.get_one(VerifyRun, 1)
        observations = session.scalar(select(func.count()).select_from(VerifyObservation))
        assert audit.verify(session).ok
    return run, observations or 0


def test_a_database_locked_during_verify_is_a_database_error(
    database: tuple[str, Factory], tmp_path: Path
) -> None:
    """Another connection takes the write lock once the first host is done: the run cannot
    be written nor closed. One `DatabaseError` (exit status 6) naming the file, the reason
    and the run; the session rolled back, nothing half-written. Before: SQLAlchemy's
    OperationalError, a traceback and exit status 1 ("a mismatch")."""
    factory = database[1]
    engine = factory.kw["bind"]

    def wait_briefly(connection: sqlite3.Connection, _record: Any) -> None:
        connection.execute("PRAGMA busy_timeout=100")  # the test need not wait 5 s

    event.listen(engine, "connect", wait_briefly)
    engine.dispose()
    _inventory(factory, tmp_path / "two.csv", *TWO_HOSTS)
    path = tmp_path / "verify.db"
    blocker = sqlite3.connect(path, isolation_level=None)

    def lock_after_first_host(_outcome: HostOutcome) -> None:
        if not blocker.in_transaction:
            blocker.execute("BEGIN IMMEDIATE")  # the write lock, held

    request = VerifyRequest(hosts=("pltest-a", "pltest-b"), probes=("local",), concurrency=1)
    try:
        with pytest.raises(DatabaseError) as caught:
            run_verify(where(factory), request, "tester", on_host=lock_after_first_host)
    finally:
        blocker.rollback()
        blocker.close()
    assert caught.value.exit_code == 6
    assert str(caught.value) == (
        f"database error in {path}: database is locked (another program is writing to it; "
        "try again when it is done); verify run 1 stopped, not all of it stored"
    )
    run, _ = _stored_run(factory)
    assert run.finished_at is None and run.exit_status is None  # it could not be closed


def test_a_database_refusing_the_findings_closes_the_run_with_status_6(
    database: tuple[str, Factory], tmp_path: Path
) -> None:
    """The database refuses the findings (a trigger here; a full disk or a constraint alike)
    but still lets the run be closed: rolled back first, then closed with exit status 6 and
    audited. `pelihara verify` says so in one line. Before: a traceback, exit status 1, the
    run left open."""
    url, factory = database
    _inventory(factory, tmp_path / "one.csv", TWO_HOSTS[0])
    refuse = ("CREATE TRIGGER pltest_refuse BEFORE INSERT ON verify_finding "
              "BEGIN SELECT RAISE(ABORT, 'pltest: findings refused'); END")  # fmt: skip
    with sqlite3.connect(tmp_path / "verify.db") as connection:
        connection.execute(refuse)
    result = CliRunner().invoke(cli, ["--db", url, "verify", "pltest-a", "--probe", "local"])
    assert result.exit_code == 6, result.output
    [line] = result.stderr.splitlines()
    assert line == (
        f"error: database error in {tmp_path / 'verify.db'}: pltest: findings refused; "
        "verify run 1 stopped, not all of it stored"
    )
    run, observations = _stored_run(factory)
    assert run.finished_at is not None and run.exit_status == 6
    assert (run.hosts_done, observations) == (0, 0)  # the batch rolled back whole
