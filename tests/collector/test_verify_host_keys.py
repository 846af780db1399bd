"""`pelihara verify` and `collect` with host keys: RSA on record, known_hosts markers and bad
lines, a server named twice, a key recorded meanwhile by another writer, and `last_seen`.

Against the real sshd with RSA, ECDSA and Ed25519 host keys; the recording on SQLite and on
the real PostgreSQL of the harness.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pelihara import migrations
from pelihara.collector import verify as verify_module
from pelihara.collector.collect import CollectRequest, run_collect
from pelihara.collector.findings import Severity, Status
from pelihara.collector.models import VerifyRun
from pelihara.collector.runs import load_run
from pelihara.collector.verify import VerifyReport, VerifyRequest, run_verify
from pelihara.inventory import audit
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.db import make_engine, session_factory, transaction
from pelihara.inventory.host_keys import record_host_key
from pelihara.inventory.importer import import_file
from pelihara.inventory.models import HostKey, Server
from tests.collector.test_host_keys import _public_line
from tests.collector.where import where
from tests.realservers.sshd import SshServer, fingerprint
from tests.statements import counting_dbapi

ME = socket.gethostname().split(".")[0].lower()
LOGGER = "pelihara.collector.probes.known_hosts"
Factory = sessionmaker[Session]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty, migrated database: a fresh SQLite file, or a fresh one on the real PostgreSQL."""
    url = f"sqlite:///{tmp_path / 'pelihara.db'}"
    if request.param == "postgresql":
        from tests.realservers.postgresql import create_database

        url = create_database(
            request.getfixturevalue("postgresql_url"), f"t_{uuid.uuid4().hex[:12]}"
        )
    engine = make_engine(url)
    migrations.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sshd_every_key_type: SshServer
) -> Factory:
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PELIHARA_TSDB", raising=False)
    monkeypatch.setenv("PELIHARA_SSH_KEY_FILE", str(sshd_every_key_type.client_key_path))
    return session_factory(engine)


def _servers(factory: Factory, sshd: SshServer, tmp_path: Path, *names: str) -> None:
    """Servers NAMES (default: this machine) in the inventory, all reached at the sshd."""
    rows = ["hostname,ip,domain,opd,ssh_host,ssh_port,ssh_user"] + [
        f"{name},127.0.{i}.1,{name}.test.lab,Dinas Uji,127.0.0.1,{sshd.port},{sshd.username}"
        for i, name in enumerate(names or (ME,))
    ]
    (tmp_path / "servers.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    import_file(factory, tmp_path / "servers.csv", "tester")


def _verify(factory: Factory, *hosts: str, **options: object) -> VerifyReport:
    settings: dict[str, object] = {"hosts": hosts, "probes": ("ssh",), "known_hosts": (),
                                   "timeout": 5.0}  # fmt: skip
    on_start = options.pop("on_start", lambda _: None)
    settings.update(options)
    request = VerifyRequest(**settings)  # type: ignore[arg-type]
    return run_verify(where(factory), request, "tester", on_start=on_start)  # type: ignore[arg-type]


def _record(factory: Factory, hostname: str, key_type: str, fingerprint_sha256: str) -> None:
    """Another writer records a key for HOSTNAME, committed at once."""
    with transaction(factory) as session:
        server = session.scalars(select(Server).where(Server.hostname == hostname)).one()
        server_id = server.id
        session.add(HostKey(server_id=server_id, key_type=key_type,
                            fingerprint_sha256=fingerprint_sha256))  # fmt: skip


def _keys(factory: Factory) -> list[tuple[str, str, str]]:
    with factory() as session:
        rows = session.execute(select(Server.hostname, HostKey.key_type,
                                      HostKey.fingerprint_sha256).join(HostKey.server))  # fmt: skip
        return sorted((h, t, f) for h, t, f in rows)


def _host_key_findings(report: VerifyReport) -> list[tuple[str, Status, Severity, str]]:
    return [(f.host, f.status, f.severity, f.message) for f in report.findings
            if f.check == "ssh.host_key"]  # fmt: skip


def _known_hosts(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "known_hosts"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# --- the key types ---------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize("key_type", ["ssh-rsa", "ecdsa-sha2-nistp256", "ssh-ed25519"])
def test_a_server_whose_recorded_key_is_of_any_type_verifies(
    factory: Factory, sshd_every_key_type: SshServer, tmp_path: Path, key_type: str
) -> None:
    """The inventory recorded the server's RSA key (as a Debian server's first key may be):
    verified, never "HOST KEY CHANGED"; so with ECDSA and Ed25519."""
    sshd = sshd_every_key_type
    _servers(factory, sshd, tmp_path)
    _record(factory, ME, key_type, fingerprint(sshd.host_key_lines[key_type]))
    report = _verify(factory, ME)
    assert _host_key_findings(report) == []
    [outcome] = report.outcomes
    assert outcome.results["ssh"].ok, outcome.results["ssh"].error
    assert outcome.results["ssh"].data["host_key"]["key_type"] == key_type
    assert report.exit_status == 0, report.findings


# --- known_hosts markers and bad lines -------------------------------------------------------


def _marked_known_hosts(tmp_path: Path, sshd: SshServer) -> Path:
    """A bad line, a @cert-authority and a @revoked one (keys the server does not have), and
    the server's RSA key."""
    other = _public_line("ed25519")
    return _known_hosts(tmp_path, "bad ssh-ed25519 AAAA!!!!", f"@cert-authority * {other}",
                        f"@revoked * {other}",
                        f"{sshd.known_hosts_name} {sshd.host_key_lines['ssh-rsa']}")  # fmt: skip


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_markers_and_bad_lines_neither_crash_verify_nor_collect(
    factory: Factory, sshd_every_key_type: SshServer, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """A `@cert-authority`, a `@revoked` (of another key) and a bad base64 line (which made
    paramiko's reader raise): verify and collect go on, the known key lets them in, and each
    skipped line is warned about once per command, not per host."""
    sshd = sshd_every_key_type
    _servers(factory, sshd, tmp_path, "web1", "web2")
    known = _marked_known_hosts(tmp_path, sshd)
    with caplog.at_level(logging.WARNING, LOGGER):
        report = _verify(factory, "web1", "web2", known_hosts=(known,))
    assert [o.results["ssh"].status.value for o in report.outcomes] == ["ok", "ok"]
    assert len(caplog.records) == 2  # the bad line and the @cert-authority one
    caplog.clear()
    with caplog.at_level(logging.WARNING, LOGGER):
        collected = run_collect(factory, CollectRequest(("web1", "web2"), probes=("ssh",),
                                                        known_hosts=(known,)))  # fmt: skip
    assert [r.status.value for r in collected.results] == ["ok", "ok"]
    assert [r.getMessage().split(": ", 1)[1] for r in caplog.records] == [
        "the key is not valid base64; line skipped",
        "@cert-authority is not supported; line skipped (host certificates are checked as "
        "the plain keys they certify)",
    ]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_command_warns_on_stderr_once_and_prints_no_traceback(
    engine: Engine, factory: Factory, sshd_every_key_type: SshServer, tmp_path: Path
) -> None:
    """The real `pelihara verify`, two hosts: each skipped line once on stderr, with its
    file and line number; no traceback."""
    sshd = sshd_every_key_type
    _servers(factory, sshd, tmp_path, "web1", "web2")
    known = _marked_known_hosts(tmp_path, sshd)
    env = {**os.environ, "PELIHARA_DB": str(engine.url)}
    argv = [str(Path(sys.executable).parent / "pelihara"), "verify", "web1", "web2", "--probe",
            "ssh", "--known-hosts", str(known), "--format", "json"]  # fmt: skip
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    checks = {(f["host"], f["check"]) for f in json.loads(done.stdout)["findings"]}
    assert ("web1", "hostname") in checks and ("web1", "ssh.reach") not in checks  # SSH got in
    assert done.returncode == 1  # the hostname: the servers are all this machine
    assert done.stderr.splitlines() == [
        f"known_hosts {known}:1: the key is not valid base64; line skipped",
        f"known_hosts {known}:2: @cert-authority is not supported; line skipped (host "
        "certificates are checked as the plain keys they certify)",
    ]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_revoked_key_is_a_critical_finding_even_when_recorded(
    factory: Factory, sshd_every_key_type: SshServer, tmp_path: Path
) -> None:
    sshd = sshd_every_key_type
    _servers(factory, sshd, tmp_path)
    line = sshd.host_key_lines["ssh-ed25519"]
    _record(factory, ME, "ssh-ed25519", fingerprint(line))
    known = _known_hosts(tmp_path, f"@revoked * {line}")
    report = _verify(factory, ME, known_hosts=(known,), trust_new_host_keys=True)
    [(host, status, severity, message)] = _host_key_findings(report)
    assert (host, status, severity) == (ME, Status.MISMATCH, Severity.CRITICAL)
    assert message.startswith("HOST KEY REVOKED") and f"{known}:1" in message
    assert report.exit_status == 5  # a critical mismatch, and a host SSH could not look at


# --- the same server named twice, and two writers --------------------------------------------


@pytest.mark.parametrize("trust_new", [True, False], ids=["trust-new", "known"])
def test_a_server_named_twice_is_verified_once(
    factory: Factory, sshd_every_key_type: SshServer, tmp_path: Path, trust_new: bool
) -> None:
    """`verify vm 127.0.0.1 --trust-new-host-keys`, both naming one server: verified once,
    its key recorded once (it raised IntegrityError and left the run open), the run closed."""
    sshd = sshd_every_key_type
    _servers(factory, sshd, tmp_path)
    if not trust_new:
        _record(factory, ME, "ssh-ed25519", fingerprint(sshd.host_key_lines["ssh-ed25519"]))
    report = _verify(factory, ME, "127.0.0.1", f"{ME}.test.lab", trust_new_host_keys=trust_new)
    assert [o.expected.hostname for o in report.outcomes] == [ME]
    assert report.hosts_total == 1 and report.exit_status == 0, report.findings
    assert len(_keys(factory)) == 1
    with factory() as session:
        run = session.get_one(VerifyRun, report.run_id)
        assert run.finished_at is not None and run.hosts_done == 1
        trusted = [e for e in audit.recent(session, 20) if e.action == "trust"]
    assert len(trusted) == (1 if trust_new else 0)


@pytest.mark.parametrize("same_key", [False, True], ids=["another-key", "the-same-key"])
def test_a_key_recorded_meanwhile_by_another_writer(
    factory: Factory, sshd_every_key_type: SshServer, tmp_path: Path, same_key: bool
) -> None:
    """Trust on first use while another run records a key for the server between this run's
    reading of the inventory and its recording: the record is an upsert; another key is kept
    and reported as CHANGED (critical), the same key is simply known."""
    sshd = sshd_every_key_type
    _servers(factory, sshd, tmp_path)
    offered = fingerprint(sshd.host_key_lines["ssh-ed25519"])
    theirs = offered if same_key else "SHA256:recorded-by-another-run"

    def another_writer(_: int) -> None:
        _record(factory, ME, "ssh-ed25519", theirs)

    report = _verify(factory, ME, trust_new_host_keys=True, on_start=another_writer)
    assert _keys(factory) == [(ME, "ssh-ed25519", theirs)]
    findings = _host_key_findings(report)
    with factory() as session:
        trusted = [e for e in audit.recent(session, 20) if e.action == "trust"]
    assert trusted == []  # this run recorded nothing
    if same_key:
        assert findings == [] and report.exit_status == 0
        return
    [(host, status, severity, message)] = findings
    assert (host, status, severity) == (ME, Status.MISMATCH, Severity.CRITICAL)
    assert message.startswith(f"HOST KEY CHANGED for {ME}") and theirs in message
    assert report.exit_status & 1
    with factory() as session:  # stored with the run, as every finding
        shown = load_run(session, report.run_id)
        stored = [(f.check, f.message) for f in shown.findings if f.check == "ssh.host_key"]
    assert stored == [("ssh.host_key", message)]


@pytest.mark.parametrize(
    ("engine", "returning"),
    [("sqlite", True), ("sqlite", False), ("postgresql", True)],
    ids=["sqlite-returning", "sqlite-rowcount", "postgresql"],
    indirect=["engine"],
)
def test_recording_a_key_is_an_upsert_that_says_what_is_on_record(
    engine: Engine, factory: Factory, sshd_every_key_type: SshServer, tmp_path: Path,
    returning: bool, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Recorded once (with its audit entry); the same key again is known; another key of the
    type is not written, and its recorded fingerprint comes back. Also the way of SQLite
    before 3.35 (RHEL 9), without RETURNING."""
    if not returning:
        monkeypatch.setattr(engine.dialect, "insert_returning", False)
    _servers(factory, sshd_every_key_type, tmp_path)
    with transaction(factory) as session:
        server = (session.scalars(select(Server.id).where(Server.hostname == ME)).one(), ME)
        log = AuditLog(session, "tester")
        assert record_host_key(session, log, server, "ssh-rsa", "SHA256:one") is None
        assert record_host_key(session, log, server, "ssh-rsa", "SHA256:one") is None
        assert record_host_key(session, log, server, "ssh-rsa", "SHA256:two") == "SHA256:one"
        assert record_host_key(session, log, server, "ssh-ed25519", "SHA256:three") is None
    assert _keys(factory) == [(ME, "ssh-ed25519", "SHA256:three"), (ME, "ssh-rsa", "SHA256:one")]
    with factory() as session:
        trusted = [e.after for e in audit.recent(session, 10) if e.action == "trust"]
    assert [t["fingerprint_sha256"] for t in trusted if t] == ["SHA256:three", "SHA256:one"]


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_two_writers_recording_at_once_on_postgresql(
    factory: Factory, sshd_every_key_type: SshServer, tmp_path: Path
) -> None:
    """Two sessions record a key of the same server and type at once: the second waits for
    the first's commit, keeps its key, and learns the fingerprint on record (no IntegrityError)."""
    _servers(factory, sshd_every_key_type, tmp_path)
    with factory() as first, factory() as second:
        server = first.scalars(select(Server).where(Server.hostname == ME)).one()
        ids = (server.id, ME)
        assert record_host_key(first, AuditLog(first, "a"), ids, "ssh-rsa", "SHA256:first") is None
        answer: list[str | None] = []
        racer = threading.Thread(target=lambda: answer.append(record_host_key(
            second, AuditLog(second, "b"), ids, "ssh-rsa", "SHA256:second")))  # fmt: skip
        racer.start()
        racer.join(0.5)
        assert racer.is_alive()  # waiting on the first writer's row
        first.commit()
        racer.join(30)
        second.commit()
    assert answer == ["SHA256:first"]
    assert _keys(factory) == [(ME, "ssh-rsa", "SHA256:first")]


# --- last_seen ---------------------------------------------------------------------------------


def _last_seen(factory: Factory) -> dict[str, datetime]:
    with factory() as session:
        rows = session.execute(select(Server.hostname, HostKey.last_seen).join(HostKey.server))
        return {hostname: seen for hostname, seen in rows}


def test_last_seen_is_updated_by_every_run_that_saw_the_key_in_one_update(
    engine: Engine, factory: Factory, sshd_every_key_type: SshServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Three servers with their keys on record: a later run moves each one's last_seen, with
    one UPDATE of host_key for the batch (not one per host); first_seen stays."""
    names = ("web1", "web2", "web3")
    _servers(factory, sshd_every_key_type, tmp_path, *names)
    _verify(factory, *names, trust_new_host_keys=True)
    before = _last_seen(factory)
    monkeypatch.setattr(verify_module, "WRITE_SECONDS", 3600.0)  # one batch, at the end
    with counting_dbapi() as statements:
        report = _verify(factory, *names)
    assert [o.results["ssh"].ok for o in report.outcomes] == [True] * 3
    after = _last_seen(factory)
    assert all(after[name] > before[name] for name in names), (before, after)
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE HOST_KEY")]
    assert len(updates) == 1, updates
