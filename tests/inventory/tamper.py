"""What someone with direct write access to the database could do to the audit log."""

from __future__ import annotations

from sqlalchemy import select, text, update
from sqlalchemy.engine import Connection, Engine

from pelihara.inventory import audit_chain
from pelihara.inventory.audit_guards import restore_guards
from pelihara.inventory.db import table_of
from pelihara.inventory.models import AuditEntry

GUARDS = {
    "sqlite": ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
    "postgresql": [
        "DROP TRIGGER audit_log_no_change ON audit_log",
        "DROP TRIGGER audit_log_no_truncate ON audit_log",
    ],
}


def drop_guards(connection: Connection) -> None:
    for statement in GUARDS[connection.dialect.name]:
        connection.execute(text(statement))


def tamper(engine: Engine, *statements: str) -> None:
    """Drop the append-only triggers, then run STATEMENTS."""
    with engine.begin() as connection:
        drop_guards(connection)
        for statement in statements:
            connection.execute(text(statement))


def rehash_from(engine: Engine, first: int) -> None:
    """Recompute hash and prev_hash from entry FIRST to the end with pelihara's own function,
    as someone who edited entry FIRST would, to make the hash chain whole again."""
    table = table_of(AuditEntry)
    with engine.begin() as connection:
        prev = connection.execute(select(table.c.hash).where(table.c.seq == first - 1)).scalar()
        prev = prev or audit_chain.GENESIS
        rows = connection.execute(select(table).where(table.c.seq >= first).order_by(table.c.seq))
        for row in rows.mappings().all():
            new_hash = audit_chain.content_hash({**row, "prev_hash": prev})
            connection.execute(
                update(table).where(table.c.seq == row["seq"]).values(prev_hash=prev, hash=new_hash)
            )
            prev = new_hash


def cover_up(engine: Engine) -> None:
    """Put the triggers back, as a careful intruder would, to leave no trace."""
    with engine.begin() as connection:
        restore_guards(connection)
