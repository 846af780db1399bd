"""`pelihara verify` against the real sshd, snmpd and dnsmasq on 127.0.0.1.

Every simulated server is this machine: the SSH facts are this machine's, so the "matching"
inventory row is written from them, and each mismatch test changes one expectation.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pelihara import migrations
from pelihara.agent.gather import gather_facts
from pelihara.cli.main import cli
from pelihara.collector.findings import Finding, Severity, Status
from pelihara.collector.runs import HostOutcome
from pelihara.collector.selection import select_servers
from pelihara.collector.verify import VerifyReport, VerifyRequest, run_verify
from pelihara.core.errors import ConfigurationError, NotFoundError
from pelihara.facts.model import Facts
from pelihara.inventory import audit
from pelihara.inventory.db import make_engine, session_factory, transaction
from pelihara.inventory.importer import import_file
from pelihara.inventory.models import HostKey
from tests.collector.where import where
from tests.realservers.dnsmasq import DnsServer, running_dnsmasq
from tests.realservers.postgresql import create_database
from tests.realservers.snmpd import SnmpAgent, running_snmpd
from tests.realservers.sshd import SshServer, running_sshd
from tests.shell import fake_agent
from tests.terminal import stderr_on_a_terminal

Factory = sessionmaker[Session]
ME = socket.gethostname().split(".")[0].lower()
DNS_RECORDS = [
    "--local=/verify.lab/",
    "--local=/127.in-addr.arpa/",
    "--host-record=good.verify.lab,127.0.0.1",  # A and PTR
    "--host-record=elsewhere.verify.lab,127.0.0.9",
    "--address=/other.verify.lab/127.0.0.1",  # A only: 127.0.0.1's PTR names good.verify.lab
    "--cname=alias.verify.lab,good.verify.lab",
]


@pytest.fixture(scope="module")
def facts() -> Facts:
    return gather_facts()


@pytest.fixture(scope="module")
def verify_dns() -> Iterator[DnsServer]:
    with running_dnsmasq(DNS_RECORDS) as server:
        yield server


@pytest.fixture(scope="module")
def named_snmpd() -> Iterator[SnmpAgent]:
    """An snmpd that answers with this machine's name, as the real one would."""
    with running_snmpd(sys_name=ME) as agent:
        yield agent


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sshd_server: SshServer) -> None:
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PELIHARA_SSH_KEY_FILE", str(sshd_server.client_key_path))
    monkeypatch.setenv("PELIHARA_SNMP_V2_COMMUNITY", "public")
    monkeypatch.setenv("PELIHARA_SNMP_BADV2_COMMUNITY", "not-the-community")
    for name, key in (("V3", "authpass123"), ("BADV3", "wrong-key-123")):
        monkeypatch.setenv(f"PELIHARA_SNMP_{name}_USER", "testuser")
        monkeypatch.setenv(f"PELIHARA_SNMP_{name}_AUTH_PROTOCOL", "SHA")  # as snmpd's user
        monkeypatch.setenv(f"PELIHARA_SNMP_{name}_AUTH_KEY", key)
        monkeypatch.setenv(f"PELIHARA_SNMP_{name}_PRIV_PROTOCOL", "AES")
        monkeypatch.setenv(f"PELIHARA_SNMP_{name}_PRIV_KEY", "privpass123")


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Factory]:
    """The run's database: an SQLite file, or a fresh database on the real PostgreSQL."""
    url = f"sqlite:///{tmp_path / 'verify.db'}"
    if request.param == "postgresql":
        url = create_database(
            request.getfixturevalue("postgresql_url"), f"v_{uuid.uuid4().hex[:12]}"
        )
    engine = make_engine(url)
    migrations.upgrade(engine)
    return url, session_factory(engine)


def _os_text(facts: Facts) -> str:
    return f"{facts.os.id} {facts.os.version}"


def _row(facts: Facts, sshd: SshServer, snmp: SnmpAgent, **changes: object) -> dict[str, object]:
    memory_gib = math.ceil((facts.memory_total_bytes or 0) / 1024**3)
    disks = sum(d.size_bytes or 0 for d in facts.disks)
    row: dict[str, object] = {
        "hostname": ME, "ip": "127.0.0.1", "domain": "good.verify.lab", "opd": "Dinas Uji",
        "cpu_cores": facts.cpu.threads, "memory_gb": memory_gib,
        "disk_gb": round(disks / 1e9, 1) if disks else "", "os": _os_text(facts),
        "ssh_port": sshd.port, "ssh_user": sshd.username, "snmp_port": snmp.port,
        "snmp_version": "2c", "snmp_credential": "v2",
    }  # fmt: skip
    row.update(changes)
    return row


@pytest.fixture
def inventory(db: tuple[str, Factory], tmp_path: Path) -> Callable[..., None]:
    """Import servers given as dicts of columns."""

    def load(*rows: dict[str, object]) -> None:
        columns = list(rows[0])
        lines = [",".join(columns)] + [",".join(str(r[c]) for c in columns) for r in rows]
        path = tmp_path / "inventory.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        import_file(db[1], path, "tester")

    return load


@pytest.fixture
def verify(
    db: tuple[str, Factory], sshd_server: SshServer, verify_dns: DnsServer, credentials: None
) -> Callable[..., VerifyReport]:
    def run(*hosts: str, **options: object) -> VerifyReport:
        settings: dict[str, object] = {
            "hosts": hosts, "probes": ("ssh", "snmp", "dns"),
            "known_hosts": (sshd_server.known_hosts_path,),
            "resolvers": (f"127.0.0.1:{verify_dns.port}",), "timeout": 2.0,
        }  # fmt: skip
        settings.update(options)
        return run_verify(where(db[1]), VerifyRequest(**settings), "tester")  # type: ignore[arg-type]

    return run


def _find(report: VerifyReport, check: str, source: str | None = None) -> list[Finding]:
    found = [f for f in report.findings if f.check == check and source in (None, f.source)]
    assert found, f"no {check} finding among {[f.check for f in report.findings]}"
    return found


def _failing(report: VerifyReport) -> list[Finding]:
    return [f for f in report.findings if f.failed or f.unreached]


def test_matching_server_verifies_clean(verify, inventory, facts, sshd_server, named_snmpd) -> None:
    inventory(_row(facts, sshd_server, named_snmpd))
    report = verify(ME)
    assert _failing(report) == []
    assert report.exit_status == 0
    checks = {(f.check, f.source) for f in report.findings if f.status is Status.OK}
    for expected in [("hostname", "ssh"), ("hostname", "snmp"), ("ip", "ssh"), ("ip", "snmp"),
                     ("dns.forward", "dns"), ("dns.reverse 127.0.0.1", "dns"),
                     ("cpu_cores", "ssh"), ("memory_gb", "ssh"), ("memory_gb", "snmp"),
                     ("os", "ssh"), ("cross.hostname", "ssh+snmp"),
                     ("cross.addresses", "ssh+snmp")]:  # fmt: skip
        assert expected in checks


def test_wrong_memory_and_cpu_are_mismatches(verify, inventory, facts, sshd_server, named_snmpd):
    inventory(_row(facts, sshd_server, named_snmpd, memory_gb=4096, cpu_cores=999))
    report = verify(ME)
    memory = _find(report, "memory_gb", "ssh")[0]
    assert (memory.status, memory.expected) == (Status.MISMATCH, "4096")
    assert _find(report, "memory_gb", "snmp")[0].status is Status.MISMATCH
    assert _find(report, "cpu_cores", "ssh")[0].status is Status.MISMATCH
    assert report.exit_status == 1


def test_missing_address_and_missing_ptr(verify, inventory, facts, sshd_server, named_snmpd):
    inventory(_row(facts, sshd_server, named_snmpd, ip='"127.0.0.1 10.99.0.5"'))
    report = verify(ME)
    missing = [f for f in _find(report, "ip", "ssh") if f.expected == "10.99.0.5"]
    assert missing[0].status is Status.MISSING and missing[0].severity is Severity.WARNING
    ptr = _find(report, "dns.reverse 10.99.0.5")[0]
    assert (ptr.status, ptr.observed) == (Status.MISSING, "nxdomain")
    assert _find(report, "dns.reverse 127.0.0.1")[0].status is Status.OK
    forward = _find(report, "dns.forward 10.99.0.5")[0]
    assert (forward.status, forward.severity) == (Status.MISSING, Severity.WARNING)
    assert forward.observed == "127.0.0.1"
    assert _find(report, "dns.forward")[0].status is Status.OK  # the primary is there
    assert report.exit_status == 1


def test_ptr_to_another_name(verify, inventory, facts, sshd_server, named_snmpd) -> None:
    inventory(_row(facts, sshd_server, named_snmpd, domain="other.verify.lab"))
    report = verify(ME)
    assert _find(report, "dns.forward")[0].status is Status.OK
    ptr = _find(report, "dns.reverse 127.0.0.1")[0]
    assert (ptr.status, ptr.observed) == (Status.MISMATCH, "good.verify.lab")


def test_domain_resolving_elsewhere(verify, inventory, facts, sshd_server, named_snmpd) -> None:
    inventory(_row(facts, sshd_server, named_snmpd, domain="elsewhere.verify.lab"))
    report = verify(ME)
    elsewhere = _find(report, "dns.forward")[0]
    assert (elsewhere.status, elsewhere.observed) == (Status.MISMATCH, "127.0.0.9")
    assert elsewhere.severity is Severity.CRITICAL


def test_cname_chain_is_followed_and_shown(verify, inventory, facts, sshd_server, named_snmpd):
    inventory(_row(facts, sshd_server, named_snmpd, domain="alias.verify.lab"))
    forward = _find(verify(ME, probes=("dns",)), "dns.forward")[0]
    assert forward.status is Status.OK and forward.observed == (
        "alias.verify.lab -> good.verify.lab -> 127.0.0.1"
    )


def test_snmp_name_differing_from_ssh_hostname(
    verify, inventory, facts, sshd_server, snmpd_server
) -> None:
    """The shared snmpd fixture calls itself test-agent-1: another machine on the address."""
    inventory(_row(facts, sshd_server, snmpd_server))
    report = verify(ME)
    cross = _find(report, "cross.hostname")[0]
    assert (cross.status, cross.severity) == (Status.MISMATCH, Severity.CRITICAL)
    assert (cross.expected, cross.observed) == (ME, "test-agent-1")
    assert report.exit_status == 1


def test_snmp_seeing_addresses_ssh_does_not(
    verify, inventory, facts, named_snmpd, monkeypatch
) -> None:
    """A server whose SSH answer (here its agent's) lists no address, while SNMP at the same
    address lists 127.0.0.1 at least: the sources disagree."""
    bare = dataclasses.replace(facts, interfaces=())
    with tempfile.TemporaryDirectory(prefix="pelihara-agent-") as tmp, \
            running_sshd(fake_agent(Path(tmp), bare)) as sshd:  # fmt: skip
        monkeypatch.setenv("PELIHARA_SSH_KEY_FILE", str(sshd.client_key_path))
        inventory(_row(facts, sshd, named_snmpd))
        report = verify(ME, known_hosts=(sshd.known_hosts_path,), probes=("ssh", "snmp"))
    cross = _find(report, "cross.addresses")[0]
    assert (cross.status, cross.severity) == (Status.MISMATCH, Severity.WARNING)
    assert cross.observed is not None and "127.0.0.1" in cross.observed.split()
    assert _find(report, "cross.hostname")[0].status is Status.OK  # the same machine
    assert report.exit_status == 1


def test_unknown_host_key_is_refused_then_trusted_on_first_use(
    verify, inventory, facts, sshd_server, named_snmpd, db
) -> None:
    inventory(_row(facts, sshd_server, named_snmpd))
    refused = verify(ME, known_hosts=())
    reach = _find(refused, "ssh.reach")[0]
    assert reach.status is Status.ERROR and "unknown host key" in reach.message
    assert refused.exit_status & 4
    assert not any(f.source == "ssh" and f.check == "hostname" for f in refused.findings)

    trusted = verify(ME, known_hosts=(), trust_new_host_keys=True)
    assert _find(trusted, "hostname", "ssh")[0].status is Status.OK
    with transaction(db[1], commit=False) as session:
        keys = list(session.scalars(select(HostKey)))
        entry = audit.recent(session, 2)[1]
    assert [k.fingerprint_sha256 for k in keys] == [sshd_server.host_key_fingerprint]
    assert (entry.action, entry.entity) == ("trust", "host_key")

    again = verify(ME, known_hosts=())  # the inventory's key is enough now
    assert _find(again, "hostname", "ssh")[0].status is Status.OK


@pytest.mark.parametrize("key_type", ["ssh-ed25519", "ecdsa-sha2-nistp256"])
def test_changed_host_key_is_refused_and_flagged_until_forgotten(
    verify, inventory, facts, sshd_server, named_snmpd, db, key_type
) -> None:
    """The inventory recorded another key: of the type the server offers, or of another type
    (the server no longer offers the recorded one). Refused even with trust on first use;
    after `inventory forget-host-key` the next verify may record the new key."""
    inventory(_row(facts, sshd_server, named_snmpd))
    with transaction(db[1]) as session:
        from pelihara.inventory.queries import find_server

        server = find_server(session, ME)
        server.host_keys.append(HostKey(key_type=key_type, fingerprint_sha256="SHA256:old"))
    report = verify(ME, known_hosts=(), trust_new_host_keys=True)
    flagged = _find(report, "ssh.host_key")[0]
    assert (flagged.status, flagged.severity) == (Status.MISMATCH, Severity.CRITICAL)
    assert "HOST KEY CHANGED" in flagged.message and "forget-host-key" in flagged.message
    assert _find(report, "ssh.reach")[0].status is Status.ERROR
    with transaction(db[1], commit=False) as session:
        fingerprints = [k.fingerprint_sha256 for k in session.scalars(select(HostKey))]
    assert fingerprints == ["SHA256:old"]  # never replaced silently

    forget = CliRunner().invoke(cli, ["--db", db[0], "--actor", "budi", "inventory",
                                      "forget-host-key", ME])  # fmt: skip
    assert forget.exit_code == 0, forget.output
    assert f"{ME}: forgot {key_type} SHA256:old" in forget.output
    assert verify(ME, known_hosts=()).exit_status & 4  # nothing recorded: unknown, refused
    trusted = verify(ME, known_hosts=(), trust_new_host_keys=True)
    assert _find(trusted, "hostname", "ssh")[0].status is Status.OK
    with transaction(db[1], commit=False) as session:
        fingerprints = [k.fingerprint_sha256 for k in session.scalars(select(HostKey))]
        actions = [(e.action, e.actor) for e in audit.recent(session, 10)]
    assert fingerprints == [sshd_server.host_key_fingerprint]
    assert ("forget", "budi") in actions


def test_forgetting_a_key_that_is_not_recorded_says_what_is(inventory, facts, sshd_server,
                                                          named_snmpd, db) -> None:  # fmt: skip
    inventory(_row(facts, sshd_server, named_snmpd))
    with transaction(db[1]) as session:
        from pelihara.inventory.queries import find_server

        server = find_server(session, ME)  # held: the session keeps only a weak reference
        server.host_keys.append(HostKey(key_type="ssh-ed25519", fingerprint_sha256="SHA256:kept"))
    args = ["--db", db[0], "inventory", "forget-host-key", ME, "--key-type", "ssh-rsa"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 7
    assert "no host key of type ssh-rsa is recorded (recorded: ssh-ed25519)" in result.output
    assert "Traceback" not in result.output
    with transaction(db[1], commit=False) as session:
        assert [k.fingerprint_sha256 for k in session.scalars(select(HostKey))] == ["SHA256:kept"]


@pytest.mark.parametrize(
    ("credential", "status"), [("badv2", Status.UNREACHABLE), ("badv3", Status.ERROR)]
)
def test_wrong_snmp_credentials(
    verify, inventory, facts, sshd_server, named_snmpd, credential, status
) -> None:
    version = "3" if credential.endswith("v3") else "2c"
    inventory(_row(facts, sshd_server, named_snmpd, snmp_credential=credential,
                   snmp_version=version))  # fmt: skip
    report = verify(ME, probes=("snmp",), timeout=1.0)
    reach = _find(report, "snmp.reach")[0]
    assert reach.status is status
    assert "not-the-community" not in reach.message and "wrong-key-123" not in reach.message
    assert report.exit_status == 4


def test_nothing_listening_is_unreachable_and_the_scan_goes_on(
    verify, inventory, facts, sshd_server, named_snmpd
) -> None:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        closed = probe_socket.getsockname()[1]
    inventory(
        _row(facts, sshd_server, named_snmpd),
        _row(
            facts,
            sshd_server,
            named_snmpd,
            hostname="down",
            ip="127.0.0.3",
            ssh_port=closed,
            snmp_port=closed,
        ),
    )
    report = verify(ME, "down", probes=("ssh", "snmp"), timeout=1.0)
    down = {f.source: f.status for f in report.findings if f.host == "down" and ".reach" in f.check}
    assert down == {"ssh": Status.UNREACHABLE, "snmp": Status.UNREACHABLE}
    assert not [f for f in _failing(report) if f.host == ME]
    assert report.exit_status == 4


def test_interrupt_keeps_the_hosts_done(
    db, inventory, facts, sshd_server, named_snmpd, verify_dns, credentials
) -> None:
    inventory(*(_row(facts, sshd_server, named_snmpd, hostname=f"h{i}", ip=f"127.0.1.{i}")
                for i in range(4)))  # fmt: skip

    def stop_after_first(outcome: HostOutcome) -> None:
        raise KeyboardInterrupt

    request = VerifyRequest(all_hosts=True, probes=("dns",), concurrency=1,
                            resolvers=(f"127.0.0.1:{verify_dns.port}",))  # fmt: skip
    report = run_verify(where(db[1]), request, "tester", on_host=stop_after_first)
    assert report.interrupted and len(report.outcomes) == 1
    result = CliRunner().invoke(cli, ["--db", db[0], "verify", "show", str(report.run_id),
                                      "--format", "json"])  # fmt: skip
    document = json.loads(result.output)
    assert document["interrupted"] is True and document["hosts_done"] == 1
    assert {f["host"] for f in document["findings"]} == {report.outcomes[0].expected.hostname}


def test_ctrl_c_keeps_the_hosts_done_and_exits_130(
    db, inventory, facts, sshd_server, named_snmpd, credentials, tmp_path
) -> None:
    """A real SIGINT to `pelihara verify --all` while the second host (an SSH port that never
    answers) is being probed: the first host's findings are stored, the run is marked
    interrupted, the exit status is 130, and no traceback."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        inventory(
            _row(facts, sshd_server, named_snmpd, ssh_host=""),
            _row(facts, sshd_server, named_snmpd, hostname="zz-stalls", ip="127.0.0.4",
                 ssh_host="127.0.0.1", ssh_port=silent.getsockname()[1]),
        )  # fmt: skip
        env = {**os.environ, "PELIHARA_DB": db[0]}
        known = str(sshd_server.known_hosts_path)
        argv = [str(Path(sys.executable).parent / "pelihara"), "verify", "--all", "--probe",
                "ssh", "--concurrency", "1", "--known-hosts", known]  # fmt: skip
        process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        silent.settimeout(60)
        connection, _ = silent.accept()  # the first host is done: the second one is asked
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
        connection.close()
    assert process.returncode == 130, stderr
    assert b"interrupted: 1 of 2 hosts done, kept in run 1" in stderr
    assert b"Traceback" not in stderr + stdout and b"Exception" not in stderr
    assert b"run 1 interrupted: 1/2 hosts" in stdout
    shown = CliRunner().invoke(cli, ["--db", db[0], "verify", "show", "1", "--format", "json"])
    document = json.loads(shown.output)
    assert document["interrupted"] is True and document["hosts_done"] == 1
    assert {f["host"] for f in document["findings"]} == {ME}


def test_cli_formats_show_and_list(
    db, inventory, facts, sshd_server, named_snmpd, verify_dns, credentials
) -> None:
    inventory(_row(facts, sshd_server, named_snmpd, memory_gb=4096))
    base = ["--db", db[0], "verify", ME, "--known-hosts", str(sshd_server.known_hosts_path),
            "--resolver", f"127.0.0.1:{verify_dns.port}", "--ticket", "T-7"]  # fmt: skip
    as_json = CliRunner().invoke(cli, [*base, "--format", "json"])
    assert as_json.exit_code == 1, as_json.output + as_json.stderr
    document = json.loads(as_json.stdout)  # a free-text --ticket warns on stderr
    assert document["ticket"] == "T-7" and document["exit_status"] == 1
    assert any(
        f["check"] == "memory_gb" and f["status"] == "mismatch" for f in document["findings"]
    )

    junit = CliRunner().invoke(cli, [*base, "--format", "junit"])
    root = ET.fromstring(junit.stdout)
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == ME and int(suite.get("failures", 0)) >= 1
    assert root.find(".//testcase[@name='memory_gb [ssh]']/failure") is not None

    table = CliRunner().invoke(cli, [*base])
    assert "memory_gb" in table.output and "mismatch" in table.output
    listing = CliRunner().invoke(cli, ["--db", db[0], "verify", "list"])
    assert listing.output.count("T-7") == 3
    shown = CliRunner().invoke(cli, ["--db", db[0], "verify", "show", "1", "--format", "json"])
    stored = json.loads(shown.output)
    assert stored["run"] == 1 and "observations" not in document  # `verify run`: findings only
    # `verify run` prints the findings it has in hand: exactly what was stored.
    assert {k: v for k, v in stored.items() if k != "observations"} == document
    seen = {(o["host"], o["source"]): o for o in stored["observations"]}
    assert set(seen) == {(ME, "ssh"), (ME, "snmp"), (ME, "dns")}
    assert seen[ME, "ssh"]["data"]["facts"]["identity"]["hostname"] == socket.gethostname()
    missing = CliRunner().invoke(cli, ["--db", db[0], "verify", "show", "99"])
    assert missing.exit_code == 7
    usage = CliRunner().invoke(cli, ["--db", db[0], "verify"])
    assert usage.exit_code == 2 and "--all" in usage.stderr


def test_verify_all_over_a_mixed_fleet_in_every_format(
    db, inventory, facts, sshd_server, named_snmpd, verify_dns, credentials
) -> None:
    """`verify --all`: a matching server, one where nothing listens, one whose SSH login is
    refused. Every format gives the same verdicts and exit status 5 (mismatch and unreached);
    a server is never failed for another's problem."""
    with socket.socket() as closed_socket:
        closed_socket.bind(("127.0.0.1", 0))
        closed = closed_socket.getsockname()[1]
    inventory(
        _row(facts, sshd_server, named_snmpd, ssh_host=""),
        _row(facts, sshd_server, named_snmpd, hostname="down", ip="127.0.0.3", ssh_host="",
             domain="elsewhere.verify.lab", ssh_port=closed, snmp_port=closed),
        _row(facts, sshd_server, named_snmpd, hostname="locked", ip="127.0.0.2",
             ssh_host="127.0.0.1", domain="other.verify.lab", ssh_user="no-such-user",
             snmp_version="", snmp_credential=""),
    )  # fmt: skip
    base = ["--db", db[0], "verify", "--all", "--known-hosts", str(sshd_server.known_hosts_path),
            "--resolver", f"127.0.0.1:{verify_dns.port}", "--timeout", "1"]  # fmt: skip
    runs = {fmt: CliRunner().invoke(cli, [*base, "--format", fmt]) for fmt in
            ("table", "json", "junit")}  # fmt: skip
    assert {fmt: r.exit_code for fmt, r in runs.items()} == dict.fromkeys(runs, 5)

    findings = json.loads(runs["json"].output)["findings"]
    by_host = {h: [f for f in findings if f["host"] == h] for h in (ME, "down", "locked")}
    assert not [f for f in by_host[ME] if f["status"] != "ok" and f["severity"] != "info"]
    down = {f["check"]: f["status"] for f in by_host["down"] if f["check"].endswith(".reach")}
    assert down == {"ssh.reach": "unreachable", "snmp.reach": "unreachable"}
    [locked] = [f for f in by_host["locked"] if f["check"] == "ssh.reach"]
    assert locked["status"] == "error"
    assert "authentication refused for user 'no-such-user'" in locked["message"]

    suites = {s.get("name"): s for s in ET.fromstring(runs["junit"].output).iter("testsuite")}
    assert set(suites) == {ME, "down", "locked"}
    assert (suites[ME].get("failures"), suites[ME].get("errors")) == ("0", "0")
    assert int(suites["down"].get("errors", 0)) >= 2
    rows = [[cell.strip() for cell in line.split("│")[1:-1]]
            for line in runs["table"].output.splitlines() if line.startswith("│")]  # fmt: skip
    verdicts = {row[0]: row[-1] for row in rows if len(row) == 7}  # the per-host summary
    # Both could not be looked at over SSH, and their domains resolve elsewhere (127.0.0.9,
    # 127.0.0.1): the critical mismatch ranks above "unreachable".
    assert verdicts == {ME: "ok", "down": "critical", "locked": "critical"}
    assert json.loads(runs["json"].output)["verdicts"] == verdicts


def test_v3_secrets_never_reach_output_or_database(
    db, inventory, facts, sshd_server, named_snmpd, verify_dns, credentials, tmp_path
) -> None:
    inventory(_row(facts, sshd_server, named_snmpd, snmp_version="3", snmp_credential="v3"))
    args = ["--db", db[0], "verify", ME, "--known-hosts", str(sshd_server.known_hosts_path),
            "--resolver", f"127.0.0.1:{verify_dns.port}", "--format", "json"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    document = json.loads(result.output)
    assert any(f["check"] == "hostname" and f["source"] == "snmp" and f["status"] == "ok"
               for f in document["findings"])  # fmt: skip
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("verify.db*"))
    for secret in ("authpass123", "privpass123"):
        assert secret not in result.output + result.stderr
        assert secret.encode() not in stored


def test_ssh_and_v2c_secrets_never_reach_output_logs_or_database(
    db, inventory, facts, sshd_server, named_snmpd, verify_dns, credentials, tmp_path,
    monkeypatch, caplog,
) -> None:  # fmt: skip
    """Where the SSH key lives, its passphrase and a (wrong) community: in no format, no
    stored run or observation, no log record at any level."""
    monkeypatch.setenv("PELIHARA_SSH_KEY_FILE", str(tmp_path / "tempat-rahasia" / "id_ed25519"))
    monkeypatch.setenv("PELIHARA_SSH_PASSPHRASE", "frasa-sandi-rahasia")
    inventory(_row(facts, sshd_server, named_snmpd, snmp_credential="badv2"))
    caplog.set_level(logging.DEBUG)
    base = ["--db", db[0], "verify"]
    options = ["--resolver", f"127.0.0.1:{verify_dns.port}", "--timeout", "1", "-v",
               "--known-hosts", str(sshd_server.known_hosts_path)]  # fmt: skip
    shown = ""
    for fmt in ("table", "json", "junit"):
        result = CliRunner().invoke(cli, [*base, ME, *options, "--format", fmt])
        assert result.exit_code == 4, result.output  # SSH and SNMP could not look
        shown += result.output + result.stderr
    again = CliRunner().invoke(cli, [*base, "show", "1", "--format", "json"])
    assert "cannot load the SSH key" in again.output  # the observation is there, named
    shown += again.output + again.stderr
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("verify.db*"))
    for secret in ("tempat-rahasia", "frasa-sandi-rahasia", "not-the-community"):
        assert secret not in shown and secret not in caplog.text
        assert secret.encode() not in stored


def test_a_terminal_sees_a_progress_bar_a_pipe_only_the_results(tmp_path: Path, facts) -> None:
    pelihara = str(Path(sys.executable).parent / "pelihara")
    env = {**os.environ, "PELIHARA_HOME": str(tmp_path / "home"), "TERM": "xterm",
           "COLUMNS": "160", "PELIHARA_DB": ""}  # fmt: skip
    inventory = tmp_path / "me.csv"
    inventory.write_text(f"hostname,ip,domain,opd,os\n{ME},127.0.0.1,good.verify.lab,Dinas Uji,"
                         f"{_os_text(facts)}\n", encoding="utf-8")  # fmt: skip
    for setup in (["init"], ["inventory", "import", str(inventory)]):
        subprocess.run([pelihara, *setup], env=env, check=True, capture_output=True)
    argv = [pelihara, "verify", ME, "--probe", "local"]
    status, stdout, shown = stderr_on_a_terminal(argv, env)
    assert status == 0, stdout
    assert b"verifying" in shown and b"1/1" in shown and b"hosts" in shown
    assert b"verifying" not in stdout and ME.encode() in stdout  # the results, on stdout
    piped = subprocess.run(argv, env=env, capture_output=True, check=False)
    assert piped.returncode == 0
    assert piped.stderr == b""  # nothing but the results
    assert b"verifying" not in piped.stdout and ME.encode() in piped.stdout


def test_servers_are_chosen_by_name_address_domain_opd_or_all(db) -> None:
    examples = Path(__file__).parents[2] / "examples" / "inventory.csv"
    import_file(db[1], examples, "tester")
    rows = len(examples.read_text(encoding="utf-8").splitlines()) - 1
    with db[1]() as session:

        def chosen(hosts: tuple[str, ...] = (), all_hosts: bool = False, opd: str | None = None):
            return [server.hostname for server in select_servers(session, hosts, all_hosts, opd)]

        named = ("dinkes-web01", "10.20.250.14", "SIAK.disdukcapil.kotacontoh.go.id.")
        assert chosen(named) == ["dinkes-web01", "dinkes-db01", "disdukcapil-app01"]
        kesehatan = ["dinkes-app01", "dinkes-db01", "dinkes-web01", "drc-dinkes-db01"]
        assert chosen(opd="KESEHATAN") == kesehatan
        assert len(chosen(all_hosts=True)) == rows
        with pytest.raises(ConfigurationError, match="no server matches"):
            chosen(opd="%")  # a wildcard of SQL is only a character here
        with pytest.raises(ConfigurationError, match="--all or --opd"):
            chosen()
        with pytest.raises(NotFoundError, match="no-such-host"):
            chosen(("no-such-host",))
