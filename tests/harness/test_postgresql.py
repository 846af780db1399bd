"""The postgresql_url fixture: SQLAlchemy 2 + psycopg against the private PostgreSQL 15."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.realservers.postgresql import create_database


def test_url_shape(postgresql_url: str) -> None:
    url = make_url(postgresql_url)
    assert (url.drivername, url.username, url.host, url.database) == (
        "postgresql+psycopg",
        "postgres",
        "127.0.0.1",
        "postgres",
    )
    assert url.port


def test_select_version(postgresql_url: str) -> None:
    engine = create_engine(postgresql_url)
    try:
        with engine.connect() as connection:
            version = connection.execute(text("select version()")).scalar_one()
    finally:
        engine.dispose()
    assert version.startswith("PostgreSQL 15")


def test_fresh_database_create_insert_select(postgresql_url: str) -> None:
    url = create_database(postgresql_url, f"t_{uuid.uuid4().hex[:12]}")
    assert make_url(url).port == make_url(postgresql_url).port
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            tables = connection.execute(
                text("select count(*) from pg_tables where schemaname = 'public'")
            ).scalar_one()
            assert tables == 0
            connection.execute(text("create table host (id serial primary key, name text)"))
            connection.execute(
                text("insert into host (name) values (:a), (:b)"), {"a": "web1", "b": "db1"}
            )
        with engine.connect() as connection:
            rows = connection.execute(text("select id, name from host order by id")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [(1, "web1"), (2, "db1")]


def test_create_database_rejects_odd_names(postgresql_url: str) -> None:
    with pytest.raises(ValueError, match="database name"):
        create_database(postgresql_url, 'x"; drop database postgres; --')
