"""The SQL statements sent while inside a block: what the query-count tests count."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@contextmanager
def counting(target: Engine | type[Engine] = Engine) -> Iterator[list[str]]:
    """The statements of TARGET (an engine, or every engine: the CLI makes its own) while
    inside, in order."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(target, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(target, "before_cursor_execute", record)


@contextmanager
def counting_dbapi() -> Iterator[list[str]]:
    """The statements `verify` sends through `inventory.dbapi` while inside, in order."""
    from pelihara.inventory import dbapi

    statements: list[str] = []
    dbapi.STATEMENT_HOOKS.append(statements.append)
    try:
        yield statements
    finally:
        dbapi.STATEMENT_HOOKS.remove(statements.append)
