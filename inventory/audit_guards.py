"""The audit log's append-only triggers: are they still there and unchanged, and put them back.

Migration 0001 created them; whoever can drop or disable them (the table's owner) can edit
the log, and `audit verify` says when they are gone. `pelihara init` restores them. The
statements are the migration's, kept here as the definition to compare with.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

_SQLITE = {
    "audit_log_no_update": "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "audit_log_no_delete": "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
}
_PG_FUNCTION = "audit_log_append_only"
_PG_BODY = " BEGIN RAISE EXCEPTION 'audit_log is append-only'; END "
_PG_CREATE_FUNCTION = (
    f"CREATE OR REPLACE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS "
    f"$${_PG_BODY}$$"
)
# name: (statement, pg_trigger.tgtype: 1 row, 2 before, 8 delete, 16 update, 32 truncate)
_PG_TRIGGERS = {
    "audit_log_no_change": (
        "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
        f"FOR EACH ROW EXECUTE FUNCTION {_PG_FUNCTION}()",
        1 | 2 | 8 | 16,
    ),
    "audit_log_no_truncate": (
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}()",
        2 | 32,
    ),
}
_ENABLED = ("O", "A")  # fires in normal sessions; 'D' is disabled, 'R' only on replicas


def _words(statement: str) -> str:
    return " ".join(statement.split())


def _sqlite_problems(connection: Connection) -> dict[str, str]:
    rows = connection.execute(text(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
    ))  # fmt: skip
    found: dict[str, str] = {name: statement for name, statement in rows}
    problems = {}
    for name, statement in _SQLITE.items():
        if name not in found:
            problems[name] = f"trigger {name} is missing"
        elif _words(found[name]) != _words(statement):
            problems[name] = f"trigger {name} was replaced by another definition"
    return problems


def _pg_problems(connection: Connection) -> dict[str, str]:
    rows = connection.execute(text(
        "SELECT t.tgname, t.tgenabled, t.tgtype, p.proname FROM pg_trigger t "
        "JOIN pg_proc p ON p.oid = t.tgfoid "
        "WHERE t.tgrelid = to_regclass('audit_log') AND NOT t.tgisinternal"
    ))  # fmt: skip
    found = {name: (enabled, kind, function) for name, enabled, kind, function in rows}
    problems = {}
    for name, (_statement, kind) in _PG_TRIGGERS.items():
        if name not in found:
            problems[name] = f"trigger {name} is missing"
        elif found[name][0] not in _ENABLED:
            problems[name] = f"trigger {name} is disabled"
        elif found[name][1:] != (kind, _PG_FUNCTION):
            problems[name] = f"trigger {name} was replaced by another definition"
    body = connection.execute(
        text("SELECT prosrc FROM pg_proc WHERE proname = :name"), {"name": _PG_FUNCTION}
    ).scalar()
    if body is None:
        problems[_PG_FUNCTION] = f"function {_PG_FUNCTION} is missing"
    elif _words(body) != _words(_PG_BODY):
        problems[_PG_FUNCTION] = f"function {_PG_FUNCTION} was replaced: it no longer refuses"
    return problems


def guard_problems(connection: Connection) -> list[str]:
    """What is wrong with the append-only triggers ([] when they are all in place)."""
    if connection.dialect.name == "sqlite":
        return list(_sqlite_problems(connection).values())
    if connection.dialect.name == "postgresql":
        return list(_pg_problems(connection).values())
    return []


def restore_guards(connection: Connection) -> list[str]:
    """Create again the triggers (and function) that are missing, disabled or changed;
    returns their names. Needs the table's owner on PostgreSQL."""
    if connection.dialect.name == "sqlite":
        broken = list(_sqlite_problems(connection))
        statements = [(name, _SQLITE[name]) for name in broken]
        drop = "DROP TRIGGER IF EXISTS {name}"
    elif connection.dialect.name == "postgresql":
        broken = list(_pg_problems(connection))
        if _PG_FUNCTION in broken:
            connection.execute(text(_PG_CREATE_FUNCTION))
        statements = [(name, _PG_TRIGGERS[name][0]) for name in broken if name in _PG_TRIGGERS]
        drop = "DROP TRIGGER IF EXISTS {name} ON audit_log"
    else:
        return []
    for name, statement in statements:
        connection.execute(text(drop.format(name=name)))
        connection.execute(text(statement))
    return broken
