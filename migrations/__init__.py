"""Alembic migrations for every package's tables; `upgrade()` is what `pelihara init` runs.

Alembic is imported only by `upgrade()`: every other command checks the schema's revision
with one plain query against `HEAD`, which a test keeps equal to the newest migration.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from pelihara.core.errors import DatabaseError
from pelihara.core.schema import HEAD
from pelihara.inventory.db import database_label, describe_database_error

if TYPE_CHECKING:
    from alembic.config import Config

HERE = Path(__file__).resolve().parent


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["engine"] = engine
    return config


def current(engine: Engine) -> str | None:
    """The revision the database is at (None when never initialised)."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError) as exc:
        if "alembic_version" in str(exc):  # no such table: never initialised
            return None
        raise DatabaseError(describe_database_error(exc, engine)) from exc
    except SQLAlchemyError as exc:
        raise DatabaseError(describe_database_error(exc, engine)) from exc


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Create or upgrade the schema to the newest revision; returns (before, after)."""
    from alembic import command

    before = current(engine)
    try:
        command.upgrade(alembic_config(engine), "head")
    except SQLAlchemyError as exc:
        raise DatabaseError(describe_database_error(exc, engine)) from exc
    return before, HEAD


def require_current(engine: Engine) -> None:
    """Raise a `DatabaseError` telling to run `pelihara init` unless the schema is current."""
    revision = current(engine)
    if revision == HEAD:
        return
    where = database_label(engine)
    if revision is None:
        raise DatabaseError(f"the database {where} is not initialised: run `pelihara init`")
    raise DatabaseError(
        f"the database {where} has schema {revision}, this pelihara needs {HEAD}: "
        "run `pelihara init`"
    )
