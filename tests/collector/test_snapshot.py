"""`pelihara snapshot take/list/show` against the real sshd, snmpd, dnsmasq, VictoriaMetrics
and PostgreSQL on 127.0.0.1, and with `--probe local`.

Every simulated server is this machine (the test sshd runs here): a snapshot over SSH holds
this machine's full facts.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from pelihara import migrations
from pelihara.cli.main import cli
from pelihara.collector.models import SnapshotRecord
from pelihara.collector.runs import HostOutcome
from pelihara.collector.snapshot import SnapshotRequest, TakeReport, take_snapshots
from pelihara.collector.verify import VerifyRequest
from pelihara.core.errors import ConfigurationError
from pelihara.facts.snapshot import snapshot_from_json
from pelihara.inventory.audit_guards import guard_problems
from pelihara.inventory.db import make_engine, session_factory, transaction
from pelihara.inventory.edits import rename_server
from pelihara.inventory.importer import import_file
from pelihara.inventory.models import AuditEntry, HostKey
from pelihara.timeseries import Query, open_store, spool_path
from pelihara.timeseries.spools import spool_status
from tests.realservers.dnsmasq import DnsServer, running_dnsmasq
from tests.realservers.postgresql import create_database
from tests.realservers.snmpd import SnmpAgent, running_snmpd
from tests.realservers.sshd import SshServer
from tests.realservers.victoriametrics import VictoriaMetricsServer
from tests.terminal import stderr_on_a_terminal

Factory = sessionmaker[Session]
ME = socket.gethostname().split(".")[0].lower()
COLUMNS = "hostname,ip,domain,opd,ssh_port,ssh_user,snmp_port,snmp_version,snmp_credential"


@pytest.fixture(scope="module")
def snap_dns() -> Iterator[DnsServer]:
    with running_dnsmasq(["--local=/snap.lab/", "--host-record=good.snap.lab,127.0.0.1"]) as dns:
        yield dns


@pytest.fixture(scope="module")
def snap_snmpd() -> Iterator[SnmpAgent]:
    with running_snmpd(sys_name=ME) as agent:
        yield agent


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sshd_server: SshServer) -> Path:
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PELIHARA_TSDB", raising=False)
    monkeypatch.setenv("PELIHARA_SSH_KEY_FILE", str(sshd_server.client_key_path))
    monkeypatch.setenv("PELIHARA_SNMP_V2_COMMUNITY", "public")
    return tmp_path / "home"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path, home: Path) -> tuple[str, Factory]:
    """The database: an SQLite file, or a fresh database on the real PostgreSQL."""
    url = f"sqlite:///{tmp_path / 'snap.db'}"
    if request.param == "postgresql":
        url = create_database(
            request.getfixturevalue("postgresql_url"), f"s_{uuid.uuid4().hex[:12]}"
        )
    engine = make_engine(url)
    migrations.upgrade(engine)
    return url, session_factory(engine)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def inventory(
    db: tuple[str, Factory], tmp_path: Path, sshd_server: SshServer, snap_snmpd: SnmpAgent
) -> Callable[..., None]:
    """Import servers: NAMES at 127.0.0.1 on the test sshd and snmpd; `down` where nothing
    listens."""

    def load(*names: str) -> None:
        lines = [COLUMNS]
        for name in names:
            ssh = _closed_port() if name == "down" else sshd_server.port
            snmp = _closed_port() if name == "down" else snap_snmpd.port
            ip = {"down": "127.0.0.4", "twin": "127.0.0.2"}.get(name, "127.0.0.1")
            lines.append(f"{name},{ip},good.snap.lab,Dinas Uji,{ssh},sshtest,{snmp},2c,v2")
        path = tmp_path / "inventory.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        import_file(db[1], path, "tester")

    return load


@pytest.fixture
def take(
    db: tuple[str, Factory], sshd_server: SshServer, snap_dns: DnsServer
) -> Callable[..., TakeReport]:
    def run(
        *hosts: str, tsdb: str | None = None, phase: str = "pre", **options: object
    ) -> TakeReport:
        settings: dict[str, object] = {
            "hosts": hosts, "probes": ("ssh", "snmp", "dns"), "ticket": "2026/041",
            "known_hosts": (sshd_server.known_hosts_path,),
            "resolvers": (f"127.0.0.1:{snap_dns.port}",), "timeout": 2.0,
        }  # fmt: skip
        settings.update(options)
        request = SnapshotRequest(VerifyRequest(**settings), phase, tsdb)  # type: ignore[arg-type]
        return take_snapshots(db[1], request, "tester")

    return run


def _records(factory: Factory) -> list[SnapshotRecord]:
    with transaction(factory, commit=False) as session:
        found = list(session.scalars(select(SnapshotRecord).order_by(SnapshotRecord.id)))
        session.expunge_all()
    return found


def test_a_take_stores_the_full_facts_and_views_under_their_hash(
    db, inventory, take, victoriametrics_server: VictoriaMetricsServer
) -> None:
    inventory(ME)
    url = f"victoriametrics://127.0.0.1:{victoriametrics_server.port}"
    report = take(ME, tsdb=url)
    assert report.exit_status == 0, report.taken
    (taken,) = report.taken
    (record,) = _records(db[1])
    assert (taken.snapshot_id, taken.sha256) == (record.id, record.sha256)
    assert hashlib.sha256(record.document.encode("utf-8")).hexdigest() == record.sha256
    snapshot = snapshot_from_json(record.document)
    assert (snapshot.host, snapshot.phase, snapshot.ticket) == (ME, "pre", "2026/041")
    facts = snapshot.facts
    # The full bundle, not verify's: software inventory, host keys, boot time, mounts.
    assert facts.packages and facts.services and facts.ssh_host_keys and facts.listening_ports
    assert facts.identity.boot_time is not None
    assert snapshot.health and snapshot.health.load1 is not None and snapshot.health.filesystems
    assert snapshot.snmp and snapshot.snmp.status == "ok" and snapshot.snmp.data["sysName"] == ME
    assert snapshot.dns and snapshot.dns.data["forward"]["values"] == ["127.0.0.1"]
    assert snapshot.dns.data["reverse"]["127.0.0.1"]["status"] in ("ok", "nxdomain")
    with transaction(db[1], commit=False) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.entity == "snapshot")).one()
        assert entry.entity_key == ME and entry.after["sha256"] == record.sha256
    assert report.flush is not None and report.flush.error is None and report.points > 0
    _assert_points_in(url, victoriametrics_server, snapshot.taken_at, len(facts.packages))


def _assert_points_in(url: str, vm: VictoriaMetricsServer, at: datetime, packages: int) -> None:
    vm.force_flush()
    store = open_store(url)
    try:
        window = (at - timedelta(seconds=1), at + timedelta(seconds=1))
        main = store.query(Query("snapshot_host", *window, {"host": ME, "phase": "pre"}))
        mounts = store.query(Query("snapshot_mount", *window, {"host": ME}))
    finally:
        store.close()
    assert main and main[0].tags["ticket"] == "2026/041"
    assert main[0].fields["packages"] == packages and main[0].fields["interfaces_up"] >= 1
    assert {"boot_time", "load1", "memory_used_bytes", "services_running"} <= set(main[0].fields)
    assert "/" in {point.tags["mount"] for point in mounts}
    assert not any("serial" in point.tags or "package" in point.tags for point in main + mounts)


def test_a_host_that_fails_is_reported_and_the_others_kept(db, inventory, take) -> None:
    inventory(ME, "down")
    report = take(ME, "down", timeout=1.0)
    by_host = {t.host: t for t in report.taken}
    assert by_host[ME].snapshot_id is not None and not by_host[ME].problems
    assert by_host["down"].snapshot_id is None
    assert "unreachable" in by_host["down"].problems[0]
    assert report.exit_status == 4
    assert [r.host for r in _records(db[1])] == [ME]


def test_a_failed_view_keeps_the_snapshot_and_says_so(db, inventory, take) -> None:
    inventory(ME)
    report = take(ME, resolvers=(f"127.0.0.1:{_closed_port()}",), timeout=0.5)
    (taken,) = report.taken
    assert taken.snapshot_id is not None and report.exit_status == 4
    assert taken.problems == ("dns unreachable: no DNS server answered",)
    assert snapshot_from_json(_records(db[1])[0].document).dns.status == "unreachable"


def test_the_database_refuses_to_change_or_delete_a_snapshot(db, inventory, take) -> None:
    inventory(ME)
    take(ME, probes=("local",))
    engine = make_engine(db[0])
    with engine.connect() as connection:
        assert guard_problems(connection) == []
    for statement in ("UPDATE snapshot SET phase = 'post'", "DELETE FROM snapshot"):
        with pytest.raises(DBAPIError, match="snapshot is append-only"), engine.begin() as c:
            c.execute(text(statement))
    if db[0].startswith("postgresql"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text("TRUNCATE snapshot CASCADE"))  # past the FKs
    engine.dispose()
    assert len(_records(db[1])) == 1


def test_local_probe_captures_this_machine(db, inventory, take) -> None:
    inventory(ME)
    report = take(ME, probes=("local",), phase="adhoc", ticket=None)
    assert report.exit_status == 0
    snapshot = snapshot_from_json(_records(db[1])[0].document)
    assert snapshot.facts.identity.hostname.split(".")[0].lower() == ME
    assert snapshot.facts.packages and snapshot.health and snapshot.health.cpu
    assert (snapshot.snmp, snapshot.dns, snapshot.ticket) == (None, None, None)


def test_a_snapshot_needs_ssh_or_local(db, inventory, take) -> None:
    inventory(ME)
    for probes in (("snmp", "dns"), ("ssh", "local")):
        with pytest.raises(ConfigurationError, match="ssh or with local"):
            take(ME, probes=probes)


def test_a_store_that_is_down_spools_the_points_and_keeps_the_snapshot(db, inventory, take) -> None:
    inventory(ME)
    url = f"victoriametrics://127.0.0.1:{_closed_port()}"
    report = take(ME, tsdb=url, probes=("local",))
    assert report.taken[0].snapshot_id is not None and report.exit_status == 0
    assert report.flush is not None and report.flush.error is not None
    status = spool_status(spool_path(url, "snapshot"))
    assert status.pending == report.points > 0
    assert "snapshot_host" in {waiting.measurement for waiting in status.by_measurement}
    assert len(_records(db[1])) == 1


def test_interrupt_keeps_the_hosts_done(db, inventory) -> None:
    inventory(ME, "twin")  # both on loopback: this machine, for --probe local

    def stop_after_first(outcome: HostOutcome) -> None:
        raise KeyboardInterrupt

    request = SnapshotRequest(VerifyRequest(all_hosts=True, probes=("local",), concurrency=1))
    report = take_snapshots(db[1], request, "tester", on_host=stop_after_first)
    assert report.interrupted and len(report.taken) == 1
    assert [r.host for r in _records(db[1])] == [report.taken[0].host]


def test_snapshots_follow_a_renamed_server_and_block_its_removal(db, inventory, take) -> None:
    inventory(ME)
    take(ME, probes=("local",))
    with transaction(db[1]) as session:
        rename_server(session, "tester", ME, "renamed01")
    runner = CliRunner()
    listed = runner.invoke(
        cli, ["--db", db[0], "snapshot", "list", "renamed01", "--format", "json"]
    )
    assert [d["host"] for d in json.loads(listed.output)] == [ME]  # as it was taken
    removed = runner.invoke(cli, ["--db", db[0], "inventory", "remove", "renamed01"])
    assert removed.exit_code != 0 and "snapshot 1" in removed.stderr


def test_cli_take_list_show_and_the_hash_of_show_json(db, inventory, sshd_server, snap_dns) -> None:
    inventory(ME, "down")
    base = ["--db", db[0], "snapshot"]
    runner = CliRunner()
    argv = [*base, "take", ME, "down", "--phase", "post", "--ticket", "T-9", "--known-hosts",
            str(sshd_server.known_hosts_path), "--resolver", f"127.0.0.1:{snap_dns.port}",
            "--timeout", "1"]  # fmt: skip
    result = runner.invoke(cli, argv)
    assert result.exit_code == 4, result.output + result.stderr
    assert "down: not captured: ssh unreachable" in result.stderr
    assert ME in result.output and "Traceback" not in result.stderr
    listed = runner.invoke(cli, [*base, "list", "--ticket", "T-9", "--format", "json"])
    (summary,) = json.loads(listed.output)
    assert (summary["host"], summary["phase"], summary["ticket"]) == (ME, "post", "T-9")
    table = runner.invoke(cli, [*base, "list", ME])
    assert "WIB" in table.output and summary["sha256"][:16] in table.output
    shown = runner.invoke(cli, [*base, "show", str(summary["id"]), "--format", "json"])
    assert hashlib.sha256(shown.stdout_bytes).hexdigest() == summary["sha256"]
    assert not shown.stdout_bytes.endswith(b"\n")
    human = runner.invoke(cli, [*base, "show", str(summary["id"])])
    assert human.exit_code == 0 and "machine-id" in human.output and "T-9" in human.output
    missing = runner.invoke(cli, [*base, "show", "999"])
    assert missing.exit_code != 0 and "no snapshot 999" in missing.stderr


def test_show_json_through_a_real_pipe_hashes_as_stored(tmp_path: Path, home: Path) -> None:
    """`pelihara snapshot show ID --format json | sha256sum`, in a real process."""
    pelihara = str(Path(sys.executable).parent / "pelihara")
    env = {**os.environ, "PELIHARA_HOME": str(tmp_path / "h2"), "PELIHARA_DB": "", "TERM": "xterm",
           "COLUMNS": "160"}  # fmt: skip
    (tmp_path / "me.csv").write_text(f"hostname,ip,domain,opd\n{ME},127.0.0.1,me.lab,Dinas Uji\n")
    for setup in (["init"], ["inventory", "import", str(tmp_path / "me.csv")]):
        subprocess.run([pelihara, *setup], env=env, check=True, capture_output=True)
    argv = [pelihara, "snapshot", "take", ME, "--probe", "local"]
    status, stdout, shown = stderr_on_a_terminal(argv, env)
    assert status == 0, stdout
    assert b"capturing" in shown and b"1/1" in shown  # the progress bar, on a terminal
    listed = subprocess.run([pelihara, "snapshot", "list", "--format", "json"], env=env,
                            capture_output=True, check=True)  # fmt: skip
    stored = json.loads(listed.stdout)[0]["sha256"]
    piped = subprocess.run(f"'{pelihara}' snapshot show 1 --format json | sha256sum", shell=True,
                           env=env, capture_output=True, check=True)  # fmt: skip
    assert piped.stdout.split()[0].decode() == stored


def test_no_secret_of_a_running_process_reaches_a_snapshot_or_output(
    db, inventory, sshd_server, snap_dns
) -> None:
    """A listener with a secret in its argv and its environment: the snapshot names the
    process (its name), never its command line or environment; nor does any output."""
    secret = f"pltest-secret-{uuid.uuid4().hex}"
    code = "import socket,sys,time; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(); " \
           "print(s.getsockname()[1], flush=True); time.sleep(120)"  # fmt: skip
    env = {**os.environ, "PLTEST_TOKEN": secret}
    listener = subprocess.Popen([sys.executable, "-c", code, f"--password={secret}"], env=env,
                                stdout=subprocess.PIPE)  # fmt: skip
    try:
        port = int(listener.stdout.readline())  # type: ignore[union-attr]
        inventory(ME)
        runner = CliRunner()
        outputs = []
        for probe in ("ssh", "local"):
            argv = ["--db", db[0], "snapshot", "take", ME, "--probe", probe, "--known-hosts",
                    str(sshd_server.known_hosts_path), "--format", "json"]  # fmt: skip
            result = runner.invoke(cli, argv)
            assert result.exit_code == 0, result.output + result.stderr
            outputs += [result.output, result.stderr]
        for record in _records(db[1]):
            ports = snapshot_from_json(record.document).facts.listening_ports
            assert port in {p.port for p in ports}  # the listener is in the snapshot
            assert secret not in record.document
            shown = runner.invoke(cli, ["--db", db[0], "snapshot", "show", str(record.id)])
            outputs += [shown.output]
        audit = runner.invoke(cli, ["--db", db[0], "audit", "log", "--format", "json"])
        assert all(secret not in text for text in [*outputs, audit.output])
        assert "sha256" in runner.invoke(cli, ["--db", db[0], "audit", "log"]).output
    finally:
        listener.kill()
        listener.wait()


def test_an_unknown_host_key_is_refused_then_trusted_and_seen(db, inventory, take) -> None:
    inventory(ME)
    refused = take(ME, probes=("ssh",), known_hosts=())
    assert refused.exit_status == 4 and "refused" in refused.taken[0].problems[0]
    assert _records(db[1]) == []
    trusted = take(ME, probes=("ssh",), known_hosts=(), trust_new_host_keys=True)
    assert trusted.exit_status == 0
    again = take(ME, probes=("ssh",), known_hosts=())  # now known from the inventory
    assert again.exit_status == 0
    taken_at = snapshot_from_json(_records(db[1])[-1].document).taken_at
    with transaction(db[1], commit=False) as session:  # the key it was let in with: seen
        seen = list(session.scalars(select(HostKey.last_seen)))
    # SQLite gives the stored UTC time back without its zone
    assert taken_at in {m.replace(tzinfo=m.tzinfo or UTC) for m in seen if m}
