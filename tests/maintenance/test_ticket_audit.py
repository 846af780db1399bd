"""`audit verify --state` and the tickets: a ticket walked through the command line is as its
audit entries have it; a ticket, step or record changed behind the log (the append-only
triggers dropped, the row edited, the triggers put back by `pelihara init`) is named, field
by field, and a record deleted is named as deleted. On SQLite and on the real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pelihara.inventory.audit_guards import drop_statements
from tests.maintenance.test_report import Pelihara, pelihara, walk_to_step_8

__all__ = ["pelihara"]  # a fixture: the command line as Budi, this machine the OPD's server


def _behind_the_log(engine: Engine, *statements: str) -> None:
    """The ticket tables' triggers dropped, STATEMENTS run (`pelihara init` restores them)."""
    with engine.begin() as connection:
        for table in ("ticket_step", "ticket_record"):
            for drop in _drops(connection.dialect.name, table):
                connection.execute(text(drop))
        for statement in statements:
            connection.execute(text(statement))


def _drops(dialect: str, table: str) -> list[str]:
    if dialect == "sqlite":
        return [f"DROP TRIGGER {table}_no_{verb}" for verb in ("update", "delete")]
    return drop_statements(dialect, table)


def test_a_walked_ticket_is_as_logged_and_rows_changed_behind_the_log_are_named(
    pelihara: Pelihara, factory: sessionmaker[Session], engine: Engine, tmp_path: Path
) -> None:
    ref = walk_to_step_8(pelihara, factory, tmp_path)
    clean = pelihara("audit", "verify", "--state")
    assert clean.exit_code == 0, clean.output
    assert "rows as logged" in clean.output

    _behind_the_log(
        engine,
        f"UPDATE ticket SET summary = 'diubah' WHERE reference = '{ref}'",
        "UPDATE ticket_step SET person_name = 'Orang Lain' WHERE step = 4",
        "DELETE FROM ticket_record WHERE kind = 'announcement'",
        "UPDATE ticket_record SET data = '{\"reason\": \"tidak rusak\"}' WHERE kind = 'withdrawal'",
    )
    assert pelihara("init").exit_code == 0  # the triggers back: only the log can tell
    found = pelihara("audit", "verify", "--state")
    assert found.exit_code == 1, found.output
    told = found.stderr
    assert f"ticket {ref}: summary is 'diubah' in the database" in told
    assert f"ticket_step {ref} step 4: person is 'Orang Lain' in the database" in told
    assert f"ticket_record {ref} announcement (step 6," in told
    assert "in the audit log, not in the database (removed behind the log)" in told
    assert f"ticket_record {ref} withdrawal (step 8," in told and "tidak rusak" in told
    assert told.count("changed behind the log") == 3  # nothing else taken for a change
