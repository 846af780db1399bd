"""`pelihara collect` against the real snmpd and sshd, into the embedded store."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pelihara import migrations
from pelihara.cli.main import cli
from pelihara.collector.lock import run_lock
from pelihara.collector.probes.ssh_health import parse_health
from pelihara.core.paths import data_dir
from pelihara.inventory.db import make_engine, session_factory
from pelihara.inventory.importer import import_file
from pelihara.timeseries import Query, open_store, spool_path
from pelihara.timeseries.spools import spool_status
from tests.realservers.snmpd import SnmpAgent
from tests.realservers.sshd import SshServer
from tests.realservers.victoriametrics import running_victoriametrics
from tests.timeseries import Answer, answering_server

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "health"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sshd_server: SshServer) -> Path:
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path))
    monkeypatch.delenv("PELIHARA_TSDB", raising=False)
    monkeypatch.setenv("PELIHARA_SSH_KEY_FILE", str(sshd_server.client_key_path))
    monkeypatch.setenv("PELIHARA_SNMP_V2_COMMUNITY", "public")
    return tmp_path


@pytest.fixture
def db(home: Path, sshd_server: SshServer, snmpd_server: SnmpAgent) -> str:
    url = f"sqlite:///{home / 'pelihara.db'}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    rows = [
        "hostname,ip,domain,opd,ssh_port,ssh_user,snmp_port,snmp_version,snmp_credential",
        f"web1,127.0.0.1,web1.test.lab,Dinas A,{sshd_server.port},sshtest,"
        f"{snmpd_server.port},2c,v2",
        f"down1,127.0.0.4,down1.test.lab,Dinas A,{closed},sshtest,{closed},2c,v2",
    ]
    (home / "inv.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    import_file(session_factory(engine), home / "inv.csv", "tester")
    return url


def _collect(db: str, sshd: SshServer, *args: str) -> Result:
    base = ["--db", db, "collect", "--timeout", "1", "--known-hosts", str(sshd.known_hosts_path)]
    return CliRunner().invoke(cli, [*base, *args])


def _points(measurement: str, **tags: str) -> list:
    store = open_store()
    now = datetime.now(UTC)
    try:
        return store.query(
            Query(measurement, now - timedelta(hours=1), now + timedelta(minutes=1), tags)
        )
    finally:
        store.close()


def test_snmp_health_lands_in_the_embedded_store(db: str, sshd_server: SshServer) -> None:
    result = _collect(db, sshd_server, "web1", "--probe", "snmp", "-v")
    assert result.exit_code == 0, result.output + result.stderr
    memory = _points("memory", host="web1", source="snmp")
    assert memory and memory[0].fields["total_bytes"] > 0
    assert _points("filesystem", host="web1", source="snmp")
    nets = _points("net", host="web1", source="snmp")
    assert "lo" in {p.tags["interface"] for p in nets}


def test_ssh_health_lands_in_the_embedded_store(db: str, sshd_server: SshServer) -> None:
    result = _collect(db, sshd_server, "web1", "--probe", "ssh")
    assert result.exit_code == 0, result.output + result.stderr
    load = _points("load", host="web1", source="ssh")
    assert load and set(load[0].fields) == {"load1", "load5", "load15"}
    cpu = _points("cpu_time", host="web1", source="ssh", cpu="total")
    assert cpu and cpu[0].fields["user_seconds"] > 0
    assert _points("system", host="web1", source="ssh")[0].fields["processes"] > 1


def test_one_host_down_is_reported_and_the_others_stored(db: str, sshd_server: SshServer) -> None:
    result = _collect(db, sshd_server, "--all", "--probe", "snmp,ssh")
    assert result.exit_code == 4
    assert "down1 [ssh] unreachable" in result.stderr
    assert "down1 [snmp] unreachable" in result.stderr
    assert _points("memory", host="web1", source="snmp")
    assert not _points("memory", host="down1")


def test_each_skipped_host_is_named_with_the_reason(db: str, home: Path, sshd_server) -> None:
    """A server without SNMP settings is not asked over SNMP, a withdrawn one not at all:
    each is named with why, with -v (or on a terminal, or when named)."""
    rows = "hostname,ip,domain,opd,status\nnosnmp1,127.0.0.6,nosnmp1.test.lab,Dinas A,active\n"
    rows += "gone1,127.0.0.5,gone1.test.lab,Dinas A,withdrawn\n"
    (home / "more.csv").write_text(rows, encoding="utf-8")
    import_file(session_factory(make_engine(db)), home / "more.csv", "tester")
    result = _collect(db, sshd_server, "--opd", "dinas a", "--probe", "snmp", "-v")
    assert "skipped nosnmp1 [snmp]: no SNMP settings (the inventory names no snmp_credential" in (
        result.stderr
    )
    assert "skipped gone1: withdrawn" in result.stderr
    assert "web1" not in result.stderr.replace("down1", "")  # asked, not skipped
    quiet = _collect(db, sshd_server, "--all", "--probe", "snmp")  # cron: no terminal, no -v
    assert "skipped" not in quiet.stderr
    named = _collect(db, sshd_server, "nosnmp1", "--probe", "snmp")
    assert named.exit_code == 0 and "skipped nosnmp1 [snmp]" in named.stderr


def test_hosts_with_all_or_opd_is_a_usage_error(db: str, sshd_server: SshServer) -> None:
    result = _collect(db, sshd_server, "web1", "--all")
    assert result.exit_code == 2 and "HOST and --all together" in result.stderr


def test_second_run_exits_at_once_while_the_first_holds_the_lock(
    db: str, sshd_server: SshServer
) -> None:
    with run_lock(data_dir() / "collect.lock", "pelihara collect"):
        result = _collect(db, sshd_server, "--all")
    assert result.exit_code == 75
    assert "another pelihara collect is running" in result.stderr
    assert _collect(db, sshd_server, "web1").exit_code == 0  # the lock is free again


def test_store_answering_400_to_everything_fails_collect_and_keeps_the_points(
    db: str, sshd_server: SshServer
) -> None:
    answer = Answer(status=400, body=b"no such tenant (vmauth)")
    with answering_server(answer) as port:  # a misconfigured proxy in front of the store
        url = f"victoriametrics://127.0.0.1:{port}"
        result = _collect(db, sshd_server, "--all", "--probe", "snmp", "--tsdb", url)
    assert result.exit_code == 2, result.output + result.stderr
    assert "down1 [snmp] unreachable" in result.stderr  # the hosts are still reported
    assert "refused all" in result.stderr and "no such tenant (vmauth)" in result.stderr
    status = spool_status(spool_path(url, "collect"))
    assert status.pending > 0 and status.rejected == 0
    assert "memory" in {waiting.measurement for waiting in status.by_measurement}


def test_store_without_deduplication_is_warned_once(db: str, sshd_server: SshServer) -> None:
    with running_victoriametrics() as vm:  # as packaged: no -dedup.minScrapeInterval
        url = f"victoriametrics://127.0.0.1:{vm.port}"
        result = _collect(db, sshd_server, "web1", "--probe", "snmp", "--tsdb", url)
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stderr.count("-dedup.minScrapeInterval=1ms") == 1, result.stderr
    assert "warning:" in result.stderr


def test_health_parser_on_recorded_output() -> None:
    health = parse_health((FIXTURES / "debian12-container.txt").read_text(encoding="utf-8"))
    assert health["load"]["load1"] >= 0
    assert health["memory"]["MemTotal"] > health["memory"]["MemAvailable"] > 0
    assert "lo" in health["net"] and health["net"]["lo"]["bytes_recv"] >= 0
    assert "/" in health["filesystems"]
    assert {"total", "cpu0"} <= set(health["cpu"])
    assert health["processes"] > 1
