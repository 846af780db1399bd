"""The audit log: hash-chained, append-only, and `verify` finds the first tampered entry."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError as DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from pelihara.core.canonical import canonical_json
from pelihara.inventory import audit
from pelihara.inventory.db import transaction
from pelihara.inventory.importer import import_file
from tests.inventory.conftest import HEADER

Factory = sessionmaker[Session]

GUARDS = {
    "sqlite": ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
    "postgresql": ["DROP TRIGGER audit_log_no_change ON audit_log"],
}


def _five_entries(factory: Factory, write: Callable[..., Path]) -> None:
    rows = "\n".join(f"web{i},10.0.0.{i},w{i}.kota.go.id,Dinas A" for i in range(1, 5))
    import_file(factory, write("a.csv", f"{HEADER}\n{rows}\n"), "tester")  # 1 opd + 4 servers


def _tamper(engine: Engine, *statements: str) -> None:
    """What someone with direct database access could do: drop the guards, then edit."""
    with engine.begin() as connection:
        for statement in [*GUARDS[engine.dialect.name], *statements]:
            connection.execute(text(statement))


def _verify(factory: Factory) -> audit.ChainReport:
    with transaction(factory, commit=False) as session:
        return audit.verify(session)


def test_intact_chain(factory: Factory, write: Callable[..., Path]) -> None:
    _five_entries(factory, write)
    report = _verify(factory)
    assert (report.ok, report.checked, report.broken_seq, report.head.seq) == (True, 5, None, 5)


def test_database_refuses_update_and_delete(
    factory: Factory, engine: Engine, write: Callable[..., Path]
) -> None:
    _five_entries(factory, write)
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    assert _verify(factory).ok


def test_edited_entry_is_named(
    factory: Factory, engine: Engine, write: Callable[..., Path]
) -> None:
    _five_entries(factory, write)
    _tamper(engine, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
    report = _verify(factory)
    assert (report.broken_seq, report.checked) == (3, 2)
    assert "edited" in report.reason


def test_removed_entry_is_named(
    factory: Factory, engine: Engine, write: Callable[..., Path]
) -> None:
    _five_entries(factory, write)
    _tamper(engine, "DELETE FROM audit_log WHERE seq = 2")
    report = _verify(factory)
    assert report.broken_seq == 2 and "removed" in report.reason


def test_removed_and_renumbered_entry_is_named(
    factory: Factory, engine: Engine, write: Callable[..., Path]
) -> None:
    _five_entries(factory, write)
    _tamper(
        engine,
        "DELETE FROM audit_log WHERE seq = 2",
        "UPDATE audit_log SET seq = seq + 100 WHERE seq > 2",
        "UPDATE audit_log SET seq = seq - 101 WHERE seq > 100",
    )
    report = _verify(factory)
    assert report.broken_seq == 2 and "does not follow" in report.reason


def test_reordered_entries_are_named(
    factory: Factory, engine: Engine, write: Callable[..., Path]
) -> None:
    _five_entries(factory, write)
    _tamper(
        engine,
        "UPDATE audit_log SET seq = 100 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = 4",
        "UPDATE audit_log SET seq = 4 WHERE seq = 100",
    )
    report = _verify(factory)
    assert report.broken_seq == 3 and "does not follow" in report.reason


def test_cli_verify_exit_status_and_actor(
    run: Callable[..., Result], engine: Engine, write: Callable[..., Path]
) -> None:
    run("inventory", "import", str(write("a.csv", f"{HEADER}\nweb1,10.0.0.1,w.kota.go.id,D\n")))
    ok = run("audit", "verify")
    assert ok.exit_code == 0 and "intact: 2 entries" in ok.output
    log = run("audit", "log", "--format", "json")
    assert '"actor": "tester"' in log.output and '"key": "web1"' in log.output
    _tamper(engine, "UPDATE audit_log SET entity_key = 'web9' WHERE seq = 2")
    broken = run("audit", "verify")
    assert broken.exit_code == 1
    assert "broken at entry 2" in broken.stderr


def test_audit_documents_are_stored_in_the_canonical_form(
    run: Callable[..., Result], write: Callable[..., Path], engine: Engine
) -> None:
    """before/after go into the database as the one canonical JSON (sorted, compact, UTF-8)."""
    assert (
        run(
            "inventory",
            "import",
            str(
                write("s.csv", f"{HEADER}\nweb1,10.9.0.1,w.go.id,Dinas Pendidikan Kota Ciléungsi\n")
            ),
        ).exit_code
        == 0
    )
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT CAST(after AS TEXT) FROM audit_log WHERE entity = 'server'")
        ).scalar_one()
    assert stored == canonical_json(json.loads(stored))
    assert "Ciléungsi" in stored
