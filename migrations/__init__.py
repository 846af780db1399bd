"""Alembic migrations for every package's tables; `upgrade()` is what `pelihara init` runs."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from inventory.db import describe_database_error
from inventory.errors import DatabaseError

HERE = Path(__file__).resolve().parent


def _config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["engine"] = engine
    return config


def head() -> str:
    """The newest revision this version of pelihara knows."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def current(engine: Engine) -> str | None:
    """The revision the database is at (None when never initialised)."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise DatabaseError(describe_database_error(exc)) from exc


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Create or upgrade the schema to the newest revision; returns (before, after)."""
    before = current(engine)
    try:
        command.upgrade(_config(engine), "head")
    except SQLAlchemyError as exc:
        raise DatabaseError(describe_database_error(exc)) from exc
    return before, head()


def require_current(engine: Engine) -> None:
    """Raise a `DatabaseError` telling to run `pelihara init` unless the schema is current."""
    revision = current(engine)
    if revision == head():
        return
    if revision is None:
        raise DatabaseError("the database is not initialised: run `pelihara init`")
    raise DatabaseError(
        f"the database schema is at {revision}, this pelihara needs {head()}: run `pelihara init`"
    )
