"""The audit log proves itself against someone who can write the database (issue 10, 1):
MACs, recorded heads, the append-only triggers and the rows against the log."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner, Result
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pelihara import migrations
from pelihara.cli.main import cli
from pelihara.inventory import audit, audit_chain
from pelihara.inventory.audit_guards import guard_problems
from pelihara.inventory.audit_key import AuditKey
from pelihara.inventory.audit_report import AuditReport, check
from pelihara.inventory.db import make_engine, session_factory, table_of, transaction
from pelihara.inventory.importer import import_file
from pelihara.inventory.models import AuditEntry, HostKey, Server
from pelihara.inventory.queries import find_server
from pelihara.inventory.statuses import utcnow
from tests.inventory.conftest import HEADER
from tests.inventory.tamper import cover_up, rehash_from, tamper

Factory = sessionmaker[Session]
Run = Callable[..., Result]


@pytest.fixture
def key(audit_key: str) -> AuditKey:
    return AuditKey(audit_key, "PELIHARA_AUDIT_KEY")


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No key in the environment, and a configuration directory with no credentials file."""
    monkeypatch.delenv("PELIHARA_AUDIT_KEY")
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _five_entries(factory: Factory, write: Callable[..., Path]) -> None:
    rows = "\n".join(f"web{i},10.0.0.{i},w{i}.kota.go.id,Dinas A" for i in range(1, 5))
    import_file(factory, write("a.csv", f"{HEADER}\n{rows}\n"), "tester")  # 1 opd + 4 servers


def _check(factory: Factory, key: AuditKey | None, **options: object) -> AuditReport:
    with transaction(factory, commit=False) as session:
        return check(session, key, **options)  # type: ignore[arg-type]


def _head(factory: Factory) -> audit.Head:
    with transaction(factory, commit=False) as session:
        return audit.head(session)


# --- MACs -------------------------------------------------------------------------------


def test_every_entry_is_signed(factory: Factory, write: Callable[..., Path], key: AuditKey) -> None:
    _five_entries(factory, write)
    report = _check(factory, key)
    assert report.ok and report.chain.macs_checked and report.chain.unsigned == 0
    with transaction(factory, commit=False) as session:
        assert all(audit.mac_matches(entry, key) for entry in audit.recent(session, 10))


def test_rehashed_chain_fails_with_the_key(
    factory: Factory, engine: Engine, write: Callable[..., Path], key: AuditKey
) -> None:
    """Triggers dropped, an actor edited, the chain re-hashed forward with pelihara's own
    function: the hash chain is whole again, the MACs are not."""
    _five_entries(factory, write)
    tamper(engine, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
    rehash_from(engine, 3)
    assert _check(factory, None).chain.ok  # what the hash chain alone can tell
    chain = _check(factory, key).chain
    assert (chain.broken_seq, chain.checked) == (3, 2)
    assert "MAC does not match" in chain.reason


def test_cli_says_plainly_when_it_checks_without_the_key(
    run: Run, factory: Factory, engine: Engine, write: Callable[..., Path], no_key: Path,
    monkeypatch: pytest.MonkeyPatch, audit_key: str,
) -> None:  # fmt: skip
    monkeypatch.setenv("PELIHARA_AUDIT_KEY", audit_key)
    _five_entries(factory, write)
    tamper(engine, "UPDATE audit_log SET entity_key = 'web9' WHERE seq = 2")
    rehash_from(engine, 2)
    cover_up(engine)
    broken = run("audit", "verify")
    assert broken.exit_code == 1
    assert "audit log broken at entry 2: its MAC does not match" in broken.stderr
    monkeypatch.delenv("PELIHARA_AUDIT_KEY")
    blind = run("audit", "verify")
    assert blind.exit_code == 0
    assert "MACs not checked: no key; hash chain only" in blind.stdout
    assert "intact: 5 entries (hash chain)" in blind.stdout


def test_removed_mac_is_tampering_even_without_the_key(
    factory: Factory, engine: Engine, write: Callable[..., Path]
) -> None:
    _five_entries(factory, write)
    tamper(engine, "UPDATE audit_log SET mac = NULL WHERE seq = 4")
    chain = _check(factory, None).chain
    assert chain.broken_seq == 4 and "has no MAC though entry 1 before it has one" in chain.reason


def _old_version_entries(engine: Engine, count: int) -> None:
    """COUNT entries as the version before MACs wrote them, on its schema (0002)."""
    table, prev = table_of(AuditEntry), audit_chain.GENESIS
    rows = []
    for seq in range(1, count + 1):
        row = {"seq": seq, "at": utcnow(), "actor": "old", "action": "create",
               "entity": "opd", "entity_key": f"Dinas {seq}", "before": None,
               "after": {"name": f"Dinas {seq}"}, "prev_hash": prev}  # fmt: skip
        row["hash"] = prev = audit_chain.content_hash(row)
        rows.append(row)
    with engine.begin() as connection:
        connection.execute(insert(table), rows)


def test_entries_from_before_macs_are_reported_not_tampering(
    db_url: str, run: Run, write: Callable[..., Path], key: AuditKey
) -> None:
    engine = make_engine(db_url)
    command.downgrade(migrations.alembic_config(engine), "0002")  # the schema before MACs
    _old_version_entries(engine, 3)
    assert run("init").exit_code == 0  # upgrades to the MAC column; the old entries stay NULL
    assert run("inventory", "import", str(write("b.csv", f"{HEADER}\nweb1,10.0.0.1,w.go.id,D\n")))
    factory = session_factory(engine)
    report = _check(factory, key)
    assert report.ok and (report.chain.checked, report.chain.unsigned) == (5, 3)
    shown = run("audit", "verify")
    assert shown.exit_code == 0 and "entries 1-3 have no MAC: written before MACs" in shown.stdout
    tamper(engine, "UPDATE audit_log SET mac = NULL WHERE seq = 5")
    assert _check(factory, key).chain.broken_seq == 5
    engine.dispose()


def test_all_macs_removed_looks_old_but_a_recorded_head_catches_it(
    factory: Factory, engine: Engine, write: Callable[..., Path], key: AuditKey
) -> None:
    """The limit of the rule: with every MAC removed the log reads as written before MACs
    (and says so); a head recorded earlier still shows the rewrite."""
    _five_entries(factory, write)
    recorded = _head(factory)
    edit = "UPDATE audit_log SET actor = 'x' WHERE seq = 2"
    tamper(engine, "UPDATE audit_log SET mac = NULL", edit)
    rehash_from(engine, 2)
    cover_up(engine)
    report = _check(factory, key, expect=[recorded])
    assert report.chain.unsigned == 5
    assert "entries 1-5 have no MAC" in report.notes()[0]
    assert not report.ok
    assert report.problems() == [
        f"expected head {recorded}: entry 5 now has hash {_head(factory).hash}: "
        "the log was rewritten at or before it"
    ]


# --- heads ------------------------------------------------------------------------------


def test_truncated_log_is_caught_by_the_recorded_head(
    run: Run, engine: Engine, write: Callable[..., Path]
) -> None:
    rows = "\n".join(f"web{i},10.0.0.{i},w{i}.go.id,Dinas A" for i in range(1, 5))
    run("inventory", "import", str(write("a.csv", f"{HEADER}\n{rows}\n")))
    printed = run("audit", "head")
    assert printed.exit_code == 0
    recorded = printed.stdout.strip()
    assert recorded == str(audit.parse_head(recorded)) and recorded.startswith("5:")
    assert run("audit", "verify", "--expect", recorded).exit_code == 0
    tamper(engine, "DELETE FROM audit_log WHERE seq = 5")
    cover_up(engine)
    assert run("audit", "verify").exit_code == 0  # a cut log is a whole chain
    cut = run("audit", "verify", "--expect", recorded, "--expect", "2:" + "0" * 64)
    assert cut.exit_code == 1
    assert f"expected head {recorded}: the log ends at entry 4" in cut.stderr
    assert "expected head 2:000" in cut.stderr and "now has hash" in cut.stderr


def test_head_of_an_empty_log_and_a_malformed_expect(run: Run) -> None:
    assert run("audit", "head").stdout == f"0:{audit_chain.GENESIS}\n"
    assert run("audit", "verify", "--expect", f"0:{audit_chain.GENESIS}").exit_code == 0
    bad = run("audit", "verify", "--expect", "5:nothex")
    assert bad.exit_code == 2 and "is not SEQ:HASH" in bad.stderr


# --- triggers ---------------------------------------------------------------------------


def test_fresh_database_has_every_guard(engine: Engine) -> None:
    with engine.connect() as connection:
        assert guard_problems(connection) == []


def test_dropped_triggers_are_reported_and_init_restores_them(
    run: Run, engine: Engine, write: Callable[..., Path]
) -> None:
    run("inventory", "import", str(write("a.csv", f"{HEADER}\nweb1,10.0.0.1,w.go.id,D\n")))
    tamper(engine)
    unguarded = run("audit", "verify")
    assert unguarded.exit_code == 1
    missing = "audit_log_no_update" if engine.dialect.name == "sqlite" else "audit_log_no_change"
    assert (f"append-only guard: trigger {missing} is missing (`pelihara init` restores it)"
            in unguarded.stderr)  # fmt: skip
    assert "chain intact, but see above: 2 entries" in unguarded.stdout
    init = run("init")
    assert init.exit_code == 0 and "restored the append-only guards" in init.stdout
    assert run("audit", "verify").exit_code == 0
    with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log"))


def _disarm(engine: Engine) -> tuple[str, str]:
    """A guard left in place under its name but made harmless; (statement, what is reported)."""
    if engine.dialect.name == "sqlite":
        return (
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT 1; END",
            "trigger audit_log_no_update was replaced by another definition",
        )
    return ("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
            "trigger audit_log_no_change is disabled")  # fmt: skip


def test_disarmed_guards_are_reported_and_restored(run: Run, engine: Engine) -> None:
    statement, reported = _disarm(engine)
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
        connection.execute(text(statement))
    assert reported in run("audit", "verify").stderr
    assert run("init").exit_code == 0
    with engine.connect() as connection:
        assert guard_problems(connection) == []


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_function_replaced_is_reported(run: Run, engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text(
            "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"
        ))  # fmt: skip
    assert "function audit_log_append_only was replaced" in run("audit", "verify").stderr
    run("init")
    assert run("audit", "verify").exit_code == 0


# --- state ------------------------------------------------------------------------------


def _trust_host_key(factory: Factory, hostname: str, fingerprint: str) -> None:
    """What verify --trust-new-host-keys records: the key and its audit entry."""
    with transaction(factory) as session:
        server = find_server(session, hostname)
        log = audit.AuditLog(session, "tester")
        server.host_keys.append(HostKey(key_type="ssh-ed25519", fingerprint_sha256=fingerprint))
        after = {"key_type": "ssh-ed25519", "fingerprint_sha256": fingerprint}
        log.append("trust", "host_key", hostname, None, after)


def test_rows_as_logged_after_imports_and_updates(
    run: Run, factory: Factory, write: Callable[..., Path], key: AuditKey
) -> None:
    first = f"{HEADER},site,rack,serial\nweb1,10.0.0.1 10.0.0.2,w.go.id,D,DC1,R1,S1\n"
    run("inventory", "import", str(write("a.csv", first)))
    # an update that adds an address between two: the database keeps its own order
    second = f"{HEADER},serial,memory_gb\nweb1,10.0.0.1 10.0.0.9 10.0.0.2,w.go.id,D,S2,64\n"
    assert run("inventory", "import", str(write("b.csv", second))).exit_code == 0
    _trust_host_key(factory, "web1", "SHA256:abc")
    run("inventory", "forget-host-key", "web1")
    _trust_host_key(factory, "web1", "SHA256:def")
    assert _check(factory, key, state=True).state == ()
    assert run("audit", "verify", "--state").exit_code == 0


def test_rows_changed_behind_the_log_are_named(
    run: Run, factory: Factory, engine: Engine, write: Callable[..., Path], key: AuditKey
) -> None:
    rows = "\n".join(f"web{i},10.0.0.{i},w{i}.go.id,Dinas A,SN-{i}" for i in range(1, 4))
    run("inventory", "import", str(write("a.csv", f"{HEADER},serial\n{rows}\n")))
    _trust_host_key(factory, "web1", "SHA256:abc")
    with engine.begin() as connection:  # no trigger needed: the inventory tables are open
        connection.execute(text("UPDATE server SET serial = 'SN-X' WHERE hostname = 'web2'"))
        connection.execute(text("UPDATE host_key SET fingerprint_sha256 = 'SHA256:evil'"))
        connection.execute(text("DELETE FROM ip_address WHERE address = '10.0.0.3'"))
        connection.execute(text(
            "INSERT INTO ip_address (server_id, address, version, \"primary\") "
            "SELECT id, '10.0.0.33', 4, true FROM server WHERE hostname = 'web3'"
        ))  # fmt: skip
        connection.execute(text("INSERT INTO opd (name) VALUES ('Dinas Hantu')"))
    with transaction(factory) as session:  # and one removed behind the log, by the ORM
        session.delete(session.query(Server).filter_by(hostname="web1").one())
    differences = _check(factory, key, state=True).state or ()
    found = {(d.table, d.key, d.field, d.what) for d in differences}
    assert found == {
        ("server", "web2", "serial", "changed"),
        ("server", "web3", "ip", "changed"),
        ("server", "web1", "(row)", "removed"),
        ("host_key", "web1 ssh-ed25519", "(row)", "removed"),
        ("opd", "Dinas Hantu", "(row)", "added"),
    }
    shown = run("audit", "verify", "--state")
    assert shown.exit_code == 1
    assert ("server web2: serial is 'SN-X' in the database, 'SN-2' in the audit log "
            "(changed behind the log)") in shown.stderr  # fmt: skip
    assert "audit log chain intact, but see above" in shown.stdout


def test_host_key_changed_behind_the_log_is_named(
    factory: Factory, engine: Engine, write: Callable[..., Path], key: AuditKey
) -> None:
    _five_entries(factory, write)
    _trust_host_key(factory, "web1", "SHA256:abc")
    with engine.begin() as connection:
        connection.execute(text("UPDATE host_key SET fingerprint_sha256 = 'SHA256:evil'"))
    (difference,) = _check(factory, key, state=True).state or ()
    assert difference.as_dict() == {
        "table": "host_key", "key": "web1 ssh-ed25519", "field": "fingerprint_sha256",
        "what": "changed", "audit_log": "SHA256:abc", "database": "SHA256:evil",
        "before_entry": None,
    }  # fmt: skip


def test_a_change_behind_the_log_later_overwritten_is_still_named(
    run: Run, factory: Factory, engine: Engine, write: Callable[..., Path], key: AuditKey
) -> None:
    """The row is as the log left it again, but the update found it otherwise than logged."""
    run(
        "inventory", "import", str(write("a.csv", f"{HEADER},serial\nweb1,10.0.0.1,w.go.id,D,S1\n"))
    )
    with engine.begin() as connection:
        connection.execute(text("UPDATE server SET serial = 'S-EVIL' WHERE hostname = 'web1'"))
    run(
        "inventory", "import", str(write("b.csv", f"{HEADER},serial\nweb1,10.0.0.1,w.go.id,D,S2\n"))
    )
    (difference,) = _check(factory, key, state=True).state or ()
    assert (difference.field, difference.entry, difference.logged, difference.stored) == (
        "serial",
        3,
        "S1",
        "S-EVIL",
    )
    assert str(difference) == ("server web1: serial was 'S-EVIL' before entry 3 (changed behind "
                               "the log before it); the log had left 'S1'")  # fmt: skip


# --- JSON -------------------------------------------------------------------------------


def test_verify_json(run: Run, engine: Engine, write: Callable[..., Path]) -> None:
    run("inventory", "import", str(write("a.csv", f"{HEADER}\nweb1,10.0.0.1,w.go.id,D\n")))
    head = run("audit", "head").stdout.strip()
    good = run("audit", "verify", "--format", "json", "--state", "--expect", head)
    assert good.exit_code == 0
    document = json.loads(good.stdout)
    assert document == {
        "ok": True, "checked": 2, "head": head,
        "chain": {"ok": True, "broken_at": None, "reason": None},
        "macs": {"checked": True, "unsigned_entries": 0, "note": None},
        "expect": [{"head": head, "ok": True, "reason": "on the chain"}],
        "triggers": {"ok": True, "problems": []},
        "state": {"ok": True, "differences": []},
        "problems": [],
    }  # fmt: skip
    tamper(engine, "UPDATE server SET domain = 'evil.go.id'")
    bad = run("audit", "verify", "--format", "json", "--state")
    assert bad.exit_code == 1
    document = json.loads(bad.stdout)
    assert document["ok"] is False and document["triggers"]["ok"] is False
    assert document["state"]["differences"][0]["field"] == "domain"
    assert len(document["problems"]) == len(document["triggers"]["problems"]) + 1


def test_database_problem_is_status_6(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path}/none.db", "audit", "verify"])
    assert result.exit_code == 6
