"""The migrations: HEAD names the newest one, and on SQLite and on the real PostgreSQL the
migrated schema matches the models, every step goes down and up again, and down to nothing
leaves no table behind."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

import pelihara.collector.models
import pelihara.maintenance.models  # noqa: F401  (registers the tables)
from pelihara import migrations
from pelihara.inventory.db import Base, make_engine


def test_head_constant_is_the_newest_migration() -> None:
    script = ScriptDirectory.from_config(migrations.alembic_config())
    assert script.get_current_head() == migrations.HEAD


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    if request.param == "postgresql":
        from tests.realservers.postgresql import create_database

        server = request.getfixturevalue("postgresql_url")
        url = create_database(server, f"m_{uuid.uuid4().hex[:12]}")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        found: list[object] = compare_metadata(
            MigrationContext.configure(connection), Base.metadata
        )
    return found


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    assert migrations.current(engine) is None
    migrations.upgrade(engine)
    assert migrations.current(engine) == migrations.HEAD
    assert differences(engine) == []


def revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(migrations.alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def test_every_step_goes_down_and_up_again(engine: Engine) -> None:
    config = migrations.alembic_config(engine)
    for revision in revisions():
        command.upgrade(config, revision)
        command.downgrade(config, "-1")
        command.upgrade(config, revision)
        assert migrations.current(engine) == revision
    assert differences(engine) == []
    command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
