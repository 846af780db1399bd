"""`pelihara snapshot diff` on real snapshots of this machine (`--probe local`): a listener
started between `pre` and `post` is the real change; the outputs, exit statuses, the
ticket's hosts with a side missing, the stored diffs (SQLite and the real PostgreSQL).

Other programs run on this machine while the tests do (other test sessions too): their
ports and processes may come and go between two snapshots. So the tests assert what the
listener they start does, and where a status must not depend on others' noise they use
rules that rate every change `low` (a real `--rules` file).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from pelihara import migrations
from pelihara.cli.main import cli
from pelihara.collector.diff_inputs import default_rules_text
from pelihara.collector.diff_store import stored_diff_dict, stored_diffs
from pelihara.collector.models import SnapshotDiffRecord, SnapshotRecord
from pelihara.collector.snapshot import SnapshotRequest, take_snapshots
from pelihara.collector.snapshot_store import store_snapshot
from pelihara.collector.verify import VerifyRequest
from pelihara.core.canonical import sha256_hex
from pelihara.facts.changes import severity_rank
from pelihara.facts.snapshot import snapshot_from_dict, snapshot_from_json
from pelihara.inventory.audit_guards import guard_problems, restore_guards
from pelihara.inventory.db import make_engine, session_factory, transaction
from pelihara.inventory.importer import import_file
from pelihara.inventory.models import AuditEntry, Server
from tests.realservers.postgresql import create_database
from tests.terminal import stdout_on_a_terminal

Factory = sessionmaker[Session]
ME = socket.gethostname().split(".")[0].lower()
TWIN = "pltest-twin"  # another server of the inventory, at 127.0.0.2: also this machine
ANSI = re.compile(rb"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Captured:
    """Real snapshots in the order taken: ME pre, TWIN pre (no post), ME post; and the
    port of the listener that ran only for ME's post."""

    documents: tuple[tuple[str, str], ...]  # (hostname, canonical document)
    port: int


def _inventory(factory: Factory, directory: Path) -> None:
    path = directory / "inventory.csv"
    path.write_text(f"hostname,ip,domain,opd\n{ME},127.0.0.1,me.lab,Dinas Uji\n"
                    f"{TWIN},127.0.0.2,twin.lab,Dinas Uji\n")  # fmt: skip
    import_file(factory, path, "tester")


def _take(factory: Factory, host: str, phase: str) -> None:
    scan = VerifyRequest(hosts=(host,), probes=("local",), ticket="T-1")
    report = take_snapshots(factory, SnapshotRequest(scan, phase), "tester")
    assert report.exit_status == 0, report


def _listener() -> tuple[subprocess.Popen[bytes], int]:
    code = ("import socket,time; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(); "
            "print(s.getsockname()[1], flush=True); time.sleep(300)")  # fmt: skip
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    return process, int(process.stdout.readline())  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Captured:
    """Snapshots taken for real, once: the listener starts after the `pre`s and stops after
    the `post`."""
    directory = tmp_path_factory.mktemp("captured")
    engine = make_engine(f"sqlite:///{directory / 'take.db'}")
    migrations.upgrade(engine)
    factory = session_factory(engine)
    _inventory(factory, directory)
    _take(factory, ME, "pre")
    _take(factory, TWIN, "pre")
    listener, port = _listener()
    try:
        _take(factory, ME, "post")
    finally:
        listener.kill()
        listener.wait()
    with transaction(factory, commit=False) as session:
        rows = session.scalars(select(SnapshotRecord).order_by(SnapshotRecord.id))
        documents = tuple((row.host, row.document) for row in rows)
    engine.dispose()
    return Captured(documents, port)


@pytest.fixture(params=["sqlite"])
def db(request: pytest.FixtureRequest, tmp_path: Path, captured: Captured) -> Iterator[str]:
    """A database holding the captured snapshots as ids 1 (ME pre), 2 (TWIN pre), 3 (ME
    post): an SQLite file, or (parametrised `postgresql`) a fresh database on the real
    PostgreSQL."""
    url = f"sqlite:///{tmp_path / 'diff.db'}"
    if request.param == "postgresql":
        url = create_database(
            request.getfixturevalue("postgresql_url"), f"d_{uuid.uuid4().hex[:12]}"
        )
    engine = make_engine(url)
    migrations.upgrade(engine)
    factory = session_factory(engine)
    _inventory(factory, tmp_path)
    with transaction(factory) as session:
        ids = {s.hostname: s.id for s in session.scalars(select(Server))}
        for host, document in captured.documents:
            store_snapshot(session, "tester", ids[host], snapshot_from_json(document))
    engine.dispose()
    yield url


def both(test: Callable[..., None]) -> Callable[..., None]:
    """Run TEST on SQLite and on the real PostgreSQL."""
    return pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True)(test)


def _run(url: str, *argv: str) -> Result:
    return CliRunner().invoke(cli, ["--db", url, "snapshot", "diff", *argv])


@pytest.fixture
def lenient(tmp_path: Path) -> Path:
    """The packaged rules with every warning and high rated low: a status that others'
    processes on this machine cannot change."""
    path = tmp_path / "lenient.yaml"
    rules = re.sub(r"severity: (warning|high)", "severity: low", default_rules_text())
    path.write_text(re.sub(r", when_expected: \w+", "", rules), encoding="utf-8")
    return path


def _port_change(captured: Captured) -> str:
    return f"tcp 127.0.0.1:{captured.port} added"


def test_a_listener_started_between_pre_and_post_is_a_ports_change(db, captured) -> None:
    result = _run(db, "1", "3")
    assert result.exit_code == 1, result.output + result.stderr
    line = next(line for line in result.output.splitlines() if _port_change(captured) in line)
    assert "warning" in line and "ports" in line and "python" in line
    assert "identity: same machine" in result.output
    assert "snapshot 1 (pre," in result.output and "snapshot 3 (post," in result.output
    assert result.output.rstrip().endswith("(exit status 1)")
    assert "unexpected changes at warning or above on" in result.output
    assert "\x1b[" not in result.output  # not a terminal: no colour


def test_a_snapshot_against_itself_is_no_change_and_exit_0(db) -> None:
    result = _run(db, "3", "3")
    assert result.exit_code == 0, result.output + result.stderr
    assert "no changes" in result.output
    assert "nothing unexpected at warning or above (exit status 0)" in result.output


def test_json_is_stable_parseable_and_names_both_snapshots(db, captured) -> None:
    first, again = _run(db, "1", "3", "--format", "json"), _run(db, "1", "3", "--format", "json")
    assert first.exit_code == again.exit_code == 1
    assert first.stdout_bytes == again.stdout_bytes
    report = json.loads(first.stdout)
    assert (report["format"], report["version"], report["ticket"]) == (
        "pelihara.snapshot-diffs", 1, None)  # fmt: skip
    assert report["exit_status"] == 1 and report["missing"] == []
    (item,) = report["diffs"]
    with transaction(session_factory(make_engine(db)), commit=False) as session:
        hashes = {r.id: r.sha256 for r in session.scalars(select(SnapshotRecord))}
    assert (item["before"]["snapshot"], item["after"]["snapshot"]) == (1, 3)
    assert (item["before"]["sha256"], item["after"]["sha256"]) == (hashes[1], hashes[3])
    assert item["host"] == ME and item["stored"] is None and item["health"] is None
    assert item["diff_sha256"] == sha256_hex(item["diff"])
    (change,) = [c for c in item["diff"]["changes"] if c["label"].endswith(f":{captured.port}")]
    assert (change["path"], change["kind"], change["category"], change["severity"]) == (
        "listening_ports", "added", "ports", "warning")  # fmt: skip
    assert change["expected"] is None and change["after"]["port"] == captured.port
    ranks = [severity_rank(c["severity"]) for c in item["diff"]["changes"]]
    assert ranks == sorted(ranks, reverse=True)


def _table_rows(markdown: str) -> list[list[str]]:
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


def test_markdown_and_html_hold_the_ranked_changes(db, captured, tmp_path: Path) -> None:
    markdown = _run(db, "1", "3", "--format", "markdown")
    assert markdown.exit_code == 1
    rows = _table_rows(markdown.stdout)
    assert [_port_change(captured)] == [row[2] for row in rows if str(captured.port) in row[2]]
    ranks = [severity_rank(row[0]) for row in rows]
    assert ranks == sorted(ranks, reverse=True) and ranks
    assert "**Identity:** same machine" in markdown.output
    target = tmp_path / "diff.html"
    written = _run(db, "1", "3", "--format", "html", "-o", str(target))
    assert written.exit_code == 1 and written.stdout == "" and "written to" in written.stderr
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and _port_change(captured) in page
    assert "<script" not in page and "src=" not in page and "href=" not in page
    refused = _run(db, "1", "3", "--format", "html", "-o", str(target))
    assert refused.exit_code == 2 and "already exists" in refused.stderr
    assert target.read_text(encoding="utf-8") == page
    forced = _run(db, "1", "3", "--format", "markdown", "-o", str(target), "--force")
    assert forced.exit_code == 1 and target.read_text(encoding="utf-8") == markdown.stdout
    table = _run(db, "1", "3", "-o", str(tmp_path / "t.txt"))
    assert table.exit_code == 2 and "a table is shown" in table.stderr


def test_the_table_has_colour_on_a_terminal_and_none_in_a_pipe(db, captured) -> None:
    pelihara = str(Path(sys.executable).parent / "pelihara")
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "160"}
    env.pop("NO_COLOR", None)
    argv = [pelihara, "--db", db, "snapshot", "diff", "1", "3"]
    status, shown = stdout_on_a_terminal(argv, env)
    assert status == 1 and ANSI.search(shown), shown
    assert _port_change(captured).encode() in ANSI.sub(b"", shown)
    piped = subprocess.run(argv, env=env, capture_output=True, check=False)
    assert piped.returncode == 1 and _port_change(captured).encode() in piped.stdout
    assert not ANSI.search(piped.stdout)


def test_two_servers_are_refused_unless_any_host(db) -> None:
    refused = _run(db, "2", "3")
    assert refused.exit_code == 2
    assert f"snapshot 2 is of {TWIN}, snapshot 3 of {ME}" in refused.stderr
    assert "--any-host" in refused.stderr and "Traceback" not in refused.stderr
    allowed = _run(db, "2", "3", "--any-host", "--format", "json")
    assert allowed.exit_code in (0, 1), allowed.stderr
    (item,) = json.loads(allowed.stdout)["diffs"]
    assert item["host"] == f"{TWIN} -> {ME}"
    # Both are this machine: the identity verdict says so (machine-id, MACs, host keys).
    assert item["diff"]["identity"]["verdict"] == "same"
    with_ticket = _run(db, "--ticket", "T-1", "--any-host")
    assert with_ticket.exit_code == 2


def test_a_snapshot_or_ticket_that_does_not_exist_is_exit_7(db) -> None:
    missing = _run(db, "1", "999")
    assert missing.exit_code == 7 and "no snapshot 999" in missing.stderr
    no_ticket = _run(db, "--ticket", "T-404")
    assert no_ticket.exit_code == 7 and "ticket T-404" in no_ticket.stderr
    for argv in (["1"], ["one", "two"], ["1", "2", "3"]):
        assert _run(db, *argv).exit_code == 2


def test_a_ticket_host_missing_its_post_is_named_and_exit_4(db, captured, lenient) -> None:
    result = _run(db, "--ticket", "T-1", "--rules", str(lenient))
    assert result.exit_code == 4, result.output + result.stderr
    assert f"{TWIN}: not diffed, no post snapshot in ticket T-1" in result.stderr
    assert _port_change(captured) in result.output  # the other host is diffed all the same
    assert f"not diffed, a side missing: {TWIN} (no post) (exit status 4)" in result.output
    document = json.loads(_run(db, "--ticket", "T-1", "--rules", str(lenient),
                               "--format", "json").stdout)  # fmt: skip
    (missing,) = document["missing"]
    assert (missing["host"], missing["missing"]) == (TWIN, ["post"])
    assert missing["present"]["snapshot"] == 2 and document["exit_status"] == 4
    assert [d["host"] for d in document["diffs"]] == [ME]
    assert _run(db, "--ticket", "T-1", ME, "--rules", str(lenient)).exit_code == 0
    nothing = _run(db, "--ticket", "T-1", "pltest-none", "--rules", str(lenient))
    assert nothing.exit_code == 4
    assert "pltest-none: not diffed, no pre and no post snapshot" in nothing.stderr
    # Unexpected changes and a host missing: both said, 1 + 4.
    assert _run(db, "--ticket", "T-1").exit_code == 5


def _diff_rows(url: str) -> list[SnapshotDiffRecord]:
    engine = make_engine(url)
    with transaction(session_factory(engine), commit=False) as session:
        rows = list(session.scalars(select(SnapshotDiffRecord).order_by(SnapshotDiffRecord.id)))
        session.expunge_all()
    engine.dispose()
    return rows


def _audit(url: str) -> list[AuditEntry]:
    engine = make_engine(url)
    with transaction(session_factory(engine), commit=False) as session:
        entries = list(session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "snapshot_diff")))  # fmt: skip
        session.expunge_all()
    engine.dispose()
    return entries


@both
def test_a_ticket_diff_is_stored_once_with_its_audit_entry(db, captured, tmp_path) -> None:
    first = _run(db, "--ticket", "T-1", ME, "--format", "json")
    assert first.exit_code == 1, first.stderr
    (item,) = json.loads(first.stdout)["diffs"]
    assert item["stored"] == {"id": 1, "new": True}
    (row,) = _diff_rows(db)
    assert (row.ticket, row.host, row.before_snapshot_id, row.after_snapshot_id) == (
        "T-1", ME, 1, 3)  # fmt: skip
    assert (row.before_sha256, row.after_sha256) == (item["before"]["sha256"],
                                                     item["after"]["sha256"])  # fmt: skip
    assert row.sha256 == item["diff_sha256"] == hashlib.sha256(row.document.encode()).hexdigest()
    assert json.loads(row.document) == item["diff"] and row.intents is None
    assert row.rules_sha256 == item["diff"]["rules"]["sha256"] and row.actor
    (entry,) = _audit(db)
    assert entry.entity_key == ME and entry.after["sha256"] == row.sha256
    assert entry.after["before"] == {"snapshot": 1, "sha256": row.before_sha256}
    again = _run(db, "--ticket", "T-1", ME)
    assert again.exit_code == 1 and "already stored as diff 1" in again.output
    assert len(_diff_rows(db)) == 1 and len(_audit(db)) == 1
    intents = tmp_path / "intents.yaml"
    intents.write_text("version: 1\nintents:\n  - {action: reboot, note: kernel}\n")
    third = _run(db, "--ticket", "T-1", ME, "--intent", str(intents))
    assert "stored as diff 2" in third.output and "already" not in third.output
    rows = _diff_rows(db)
    assert json.loads(rows[1].intents or "") == {
        "version": 1, "intents": [{"action": "reboot", "note": "kernel"}]}  # fmt: skip
    assert len(_audit(db)) == 2
    with transaction(session_factory(make_engine(db)), commit=False) as session:
        found = [stored_diff_dict(r) for r in stored_diffs(session, "T-1")]
    assert [d["id"] for d in found] == [1, 2] and found[0]["diff"] == item["diff"]
    assert found[1]["intents"]["intents"][0]["action"] == "reboot"
    log = CliRunner().invoke(cli, ["--db", db, "audit", "log", "--key", ME])
    assert f"diff 1 of snapshots 1 -> 3, ticket T-1, sha256 {row.sha256}" in log.output


@both
def test_the_database_refuses_to_change_or_delete_a_stored_diff(db) -> None:
    assert _run(db, "--ticket", "T-1", ME).exit_code == 1
    engine = make_engine(db)
    with engine.connect() as connection:
        assert guard_problems(connection) == []
    for statement in ("UPDATE snapshot_diff SET host = 'x'", "DELETE FROM snapshot_diff"):
        with pytest.raises(DBAPIError, match="snapshot_diff is append-only"), engine.begin() as c:
            c.execute(text(statement))
    if db.startswith("postgresql"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text("TRUNCATE snapshot_diff"))
        drop = "DROP TRIGGER snapshot_diff_no_change ON snapshot_diff"
    else:
        drop = "DROP TRIGGER snapshot_diff_no_delete"
    with engine.begin() as connection:
        connection.execute(text(drop))
        assert any("snapshot_diff" in p for p in guard_problems(connection))
    verified = CliRunner().invoke(cli, ["--db", db, "audit", "verify"])
    assert verified.exit_code != 0 and "snapshot_diff" in verified.output + verified.stderr
    with engine.begin() as connection:
        assert restore_guards(connection)
        assert guard_problems(connection) == []
    engine.dispose()
    assert len(_diff_rows(db)) == 1


def test_rules_and_intent_files_good_and_malformed(db, captured, lenient, tmp_path) -> None:
    calm = _run(db, "1", "3", "--rules", str(lenient), "--format", "json")
    assert calm.exit_code == 0, calm.stderr
    (item,) = json.loads(calm.stdout)["diffs"]
    assert item["diff"]["rules"]["source"] == str(lenient)
    (change,) = [c for c in item["diff"]["changes"] if c["label"].endswith(f":{captured.port}")]
    assert change["severity"] == "low"
    bad_rules = tmp_path / "bad.yaml"
    bad_rules.write_text(default_rules_text().replace(
        "listening_ports.added: {category: ports, severity: warning}",
        "listening_ports.added: {category: ports, severity: severe}"))  # fmt: skip
    refused = _run(db, "--ticket", "T-1", "--rules", str(bad_rules))
    assert refused.exit_code == 3, refused.stderr
    assert f"{bad_rules} [changes.listening_ports.added.severity]" in refused.stderr
    assert _diff_rows(db) == []  # refused before anything was read or stored
    intents = tmp_path / "intents.yaml"
    intents.write_text("version: 1\nintents:\n  - {action: reboot}\n")
    marked = _run(db, "1", "3", "--intent", str(intents), "--wide")
    assert marked.exit_code == 1
    assert "expected but not seen: reboot" in marked.output and "expected" in marked.output
    line = next(line for line in marked.output.splitlines() if _port_change(captured) in line)
    assert line.rstrip(" │").endswith("no")  # the listener was not declared
    intents.write_text("version: 1\nintents:\n  - {action: explode}\n")
    wrong = _run(db, "1", "3", "--intent", str(intents))
    assert wrong.exit_code == 3 and f"{intents} [intents[0].action]" in wrong.stderr
    unreadable = _run(db, "1", "3", "--intent", str(tmp_path / "none.yaml"))
    assert unreadable.exit_code == 3 and "none.yaml: cannot read" in unreadable.stderr


def _store_altered(url: str, document: str, alter: Callable[[dict[str, Any]], None]) -> None:
    """A real captured document, ALTERED, stored as the next snapshot of ME (a moment later:
    another document, another hash)."""
    data = json.loads(document)
    alter(data["facts"])
    data["taken_at"] = data["taken_at"].replace("Z", "") + ("1Z" if "." in data["taken_at"]
                                                          else ".1Z")  # fmt: skip
    engine = make_engine(url)
    with transaction(session_factory(engine)) as session:
        server = session.scalars(select(Server).where(Server.hostname == ME)).one()
        store_snapshot(session, "tester", server.id, snapshot_from_dict(data))
    engine.dispose()


def test_a_fact_not_read_on_a_side_is_said_never_all_removed(db, captured) -> None:
    """The post of a server whose package list could not be read (schema 2: null): the
    packages are "not compared", never thousands of packages removed."""
    _store_altered(db, captured.documents[-1][1], lambda facts: facts.update(packages=None))
    result = _run(db, "1", "4", "--format", "json")
    (item,) = json.loads(result.stdout)["diffs"]
    assert {"path": "packages", "side": "after", "count": 1} in item["diff"]["not_compared"]
    assert not [c for c in item["diff"]["changes"] if c["path"] == "packages"]
    table = _run(db, "1", "4")
    assert "not compared: packages: not read after" in table.output


def test_an_identity_that_changed_shows_every_sign(db, captured) -> None:
    """Another machine-id after (a reinstall, or another machine): the verdict is not
    "same", and the table lists each sign with its values before and after."""
    machine_id = "0123456789abcdef0123456789abcdef"
    _store_altered(db, captured.documents[-1][1],
                   lambda facts: facts["identity"].update(machine_id=machine_id))  # fmt: skip
    result = _run(db, "1", "4", "--wide")
    assert result.exit_code == 1
    assert "identity: same machine, parts changed" in result.output
    line = next(line for line in result.output.splitlines() if machine_id in line)
    assert "machine_id" in line and "changed" in line
    (item,) = json.loads(_run(db, "1", "4", "--format", "json").stdout)["diffs"]
    (change,) = [c for c in item["diff"]["changes"] if c["rule"] == "identity.machine_id"]
    assert (change["severity"], change["after"]) == ("high", machine_id)


def _health_store(tmp_path: Path, captured: Captured, busy: float) -> str:
    """An embedded store with real agent memory samples of ME: 10 minutes before the pre
    snapshot, and 10 minutes after the post, with memory used at 40 % before and BUSY after
    (the other metrics: no data)."""
    from dataclasses import replace as changed
    from datetime import timedelta

    from pelihara.agent.health import Sampler
    from pelihara.timeseries import open_store

    url = f"sqlite:///{tmp_path / 'health.db'}"
    pre = snapshot_from_json(captured.documents[0][1]).taken_at - timedelta(minutes=10)
    post = snapshot_from_json(captured.documents[2][1]).taken_at + timedelta(minutes=10)
    sampler, store = Sampler(ME), open_store(url)
    try:
        for moment, used in ((pre, 40.0), (post, busy)):
            points = sampler.sample(int(moment.timestamp() * 1e9))
            # memory only: the CPU and load of a real sample vary with what else runs here
            store.write([changed(p, fields={**p.fields, "used_percent": used})
                         for p in points if p.measurement == "memory"])  # fmt: skip
    finally:
        store.close()
    return url


def test_health_around_the_window_flags_memory_that_rose(
    db: str, captured: Captured, lenient: Path, tmp_path: Path
) -> None:
    url = _health_store(tmp_path, captured, busy=75.0)
    argv = ("1", "3", "--rules", str(lenient), "--health", "--tsdb", url)
    table = _run(db, *argv)
    assert table.exit_code == 1, table.output + table.stderr  # only the health is flagged
    assert f"{ME}: 1 metric(s) beyond the thresholds: memory" in table.output
    assert "health beyond the thresholds on" in table.output
    report = json.loads(_run(db, *argv, "--format", "json").stdout)
    health = report["diffs"][0]["health"]
    assert health["status"] == "compared" and health["flagged"] == 1
    (memory,) = [m for m in health["metrics"] if m["metric"] == "memory"]
    assert (memory["before"]["mean"], memory["after"]["mean"]) == (40.0, 75.0)
    markdown = _run(db, *argv, "--format", "markdown").stdout
    assert f"#### Health of {ME} around the maintenance" in markdown
    calm = _run(db, "1", "3", "--rules", str(lenient), "--health", "--tsdb",
                _health_store(tmp_path / "calm", captured, busy=41.0))  # fmt: skip
    assert calm.exit_code == 0, calm.output + calm.stderr
    assert f"{ME}: health within the thresholds" in calm.output


def test_health_from_a_store_that_is_down_is_not_compared_and_exit_4(
    db: str, lenient: Path
) -> None:
    down = "victoriametrics://127.0.0.1:9/?timeout=1"
    result = _run(db, "1", "3", "--rules", str(lenient), "--health", "--tsdb", down)
    assert result.exit_code == 4, result.output + result.stderr
    assert "health not compared: the store at" in result.stderr
    assert "health not compared (the store could not be read)" in result.output
    report = json.loads(_run(db, "1", "3", "--rules", str(lenient), "--health", "--tsdb", down,
                             "--format", "json").stdout)  # fmt: skip
    assert report["diffs"][0]["health"]["status"] == "not compared"
    assert report["exit_status"] == 4 and report["health_error"]


def test_a_ticket_diff_that_cannot_finish_stores_nothing(db: str, tmp_path: Path) -> None:
    """An -o FILE that exists (without --force) and a --window of nothing are refused before
    a ticket's diffs are stored: a failed run records no diff and no audit entry."""
    taken = tmp_path / "diff.md"
    taken.write_text("someone's notes\n")
    exists = _run(db, "--ticket", "T-1", ME, "--format", "markdown", "-o", str(taken))
    assert exists.exit_code == 2 and "already exists" in exists.stderr
    nothing = _run(db, "--ticket", "T-1", ME, "--health", "--window", "0h")
    assert nothing.exit_code == 2 and "no time at all" in nothing.stderr
    assert _diff_rows(db) == [] and _audit(db) == []
    assert taken.read_text() == "someone's notes\n"


def test_a_bad_thresholds_file_is_exit_3_and_nothing_stored(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "health.yaml"
    bad.write_text("cpu:\n  rise: lots\n", encoding="utf-8")
    result = _run(db, "--ticket", "T-1", ME, "--health", "--health-thresholds", str(bad))
    assert result.exit_code == 3, result.output + result.stderr
    assert "cpu.rise: 'lots' is not a number" in result.stderr
    assert _diff_rows(db) == [] and _audit(db) == []
