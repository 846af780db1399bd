"""The append-only triggers: are they still there and unchanged, and put them back.

The audit log (migration 0001), the snapshots (0005), their stored diffs (0006) and a
ticket's servers and steps (0007) are append-only: the database itself refuses UPDATE,
DELETE (and on PostgreSQL TRUNCATE) on them. Whoever can drop or disable the triggers (the
table's owner) can edit the rows, and `audit verify` says when they are gone. `pelihara
init` restores them. The statements are the migrations', made here from the table's name,
and kept as the definition to compare with.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

# the tables whose rows are never changed
APPEND_ONLY = ("audit_log", "snapshot", "snapshot_diff", "ticket_server", "ticket_step",
               "ticket_record")  # fmt: skip
_ENABLED = ("O", "A")  # fires in normal sessions; 'D' is disabled, 'R' only on replicas


def _sqlite(table: str) -> dict[str, str]:
    return {
        f"{table}_no_{verb.lower()}": f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} "
        f"ON {table} BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        for verb in ("UPDATE", "DELETE")
    }


def _pg_function(table: str) -> str:
    return f"{table}_append_only"


def _pg_body(table: str) -> str:
    return f" BEGIN RAISE EXCEPTION '{table} is append-only'; END "


def _pg_create_function(table: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {_pg_function(table)}() RETURNS trigger LANGUAGE plpgsql "
        f"AS $${_pg_body(table)}$$"
    )


def _pg_triggers(table: str) -> dict[str, tuple[str, int]]:
    """name: (statement, pg_trigger.tgtype: 1 row, 2 before, 8 delete, 16 update, 32 truncate)"""
    function = _pg_function(table)
    return {
        f"{table}_no_change": (
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()",
            1 | 2 | 8 | 16,
        ),
        f"{table}_no_truncate": (
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
            2 | 32,
        ),
    }


def guard_statements(dialect: str, table: str) -> list[str]:
    """What a migration runs to make TABLE append-only on DIALECT ([] elsewhere)."""
    if dialect == "sqlite":
        return list(_sqlite(table).values())
    if dialect == "postgresql":
        return [_pg_create_function(table), *(s for s, _ in _pg_triggers(table).values())]
    return []


def drop_statements(dialect: str, table: str) -> list[str]:
    """What a migration's downgrade runs before it drops TABLE (SQLite drops them with it)."""
    if dialect != "postgresql":
        return []
    drops = [f"DROP TRIGGER IF EXISTS {name} ON {table}" for name in _pg_triggers(table)]
    return [*drops, f"DROP FUNCTION IF EXISTS {_pg_function(table)}()"]


def _words(statement: str) -> str:
    return " ".join(statement.split())


def _sqlite_problems(connection: Connection, table: str) -> dict[str, str]:
    rows = connection.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
        {"t": table},
    )
    found: dict[str, str] = {name: statement for name, statement in rows}
    problems = {}
    for name, statement in _sqlite(table).items():
        if name not in found:
            problems[name] = f"trigger {name} is missing"
        elif _words(found[name]) != _words(statement):
            problems[name] = f"trigger {name} was replaced by another definition"
    return problems


def _pg_problems(connection: Connection, table: str) -> dict[str, str]:
    rows = connection.execute(text(
        "SELECT t.tgname, t.tgenabled, t.tgtype, p.proname FROM pg_trigger t "
        "JOIN pg_proc p ON p.oid = t.tgfoid "
        "WHERE t.tgrelid = to_regclass(:t) AND NOT t.tgisinternal"
    ), {"t": table})  # fmt: skip
    found = {name: (enabled, kind, function) for name, enabled, kind, function in rows}
    problems = {}
    function = _pg_function(table)
    for name, (_statement, kind) in _pg_triggers(table).items():
        if name not in found:
            problems[name] = f"trigger {name} is missing"
        elif found[name][0] not in _ENABLED:
            problems[name] = f"trigger {name} is disabled"
        elif found[name][1:] != (kind, function):
            problems[name] = f"trigger {name} was replaced by another definition"
    body = connection.execute(
        text("SELECT prosrc FROM pg_proc WHERE proname = :name"), {"name": function}
    ).scalar()
    if body is None:
        problems[function] = f"function {function} is missing"
    elif _words(body) != _words(_pg_body(table)):
        problems[function] = f"function {function} was replaced: it no longer refuses"
    return problems


def guard_problems(connection: Connection, tables: tuple[str, ...] = APPEND_ONLY) -> list[str]:
    """What is wrong with the append-only triggers of TABLES ([] when all are in place)."""
    if connection.dialect.name == "sqlite":
        return [p for table in tables for p in _sqlite_problems(connection, table).values()]
    if connection.dialect.name == "postgresql":
        return [p for table in tables for p in _pg_problems(connection, table).values()]
    return []


def restore_guards(connection: Connection, tables: tuple[str, ...] = APPEND_ONLY) -> list[str]:
    """Create again the triggers (and functions) of TABLES that are missing, disabled or
    changed; returns their names. Needs the tables' owner on PostgreSQL."""
    return [name for table in tables for name in _restore(connection, table)]


def _restore(connection: Connection, table: str) -> list[str]:
    if connection.dialect.name == "sqlite":
        broken = list(_sqlite_problems(connection, table))
        statements = [(name, _sqlite(table)[name]) for name in broken]
        drop = "DROP TRIGGER IF EXISTS {name}"
    elif connection.dialect.name == "postgresql":
        broken = list(_pg_problems(connection, table))
        if _pg_function(table) in broken:
            connection.execute(text(_pg_create_function(table)))
        triggers = _pg_triggers(table)
        statements = [(name, triggers[name][0]) for name in broken if name in triggers]
        drop = "DROP TRIGGER IF EXISTS {name} ON " + table
    else:
        return []
    for name, statement in statements:
        connection.execute(text(drop.format(name=name)))
        connection.execute(text(statement))
    return broken
