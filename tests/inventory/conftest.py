"""Inventory tests run on SQLite AND on the real PostgreSQL server of the harness."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pelihara import migrations
from pelihara.cli.main import cli
from pelihara.inventory.db import make_engine, session_factory

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inventory.csv"

HEADER = "hostname,ip,domain,opd"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a fresh SQLite file, or a fresh database on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pelihara.db'}"
    from tests.realservers.postgresql import create_database

    server_url = request.getfixturevalue("postgresql_url")
    return create_database(server_url, f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    migrations.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def run(db_url: str, engine: Engine) -> Callable[..., Result]:
    """Run `pelihara --db URL ARGS...` in-process (the database already initialised)."""

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", db_url, "--actor", "tester", *args])

    return invoke


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write TEXT (str, or bytes as is) to a file named NAME in the test's directory."""

    def writer(name: str, text: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return writer
