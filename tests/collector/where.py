"""The database of a test's session factory, as `verify` opens it (`inventory.dbapi`)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from pelihara.inventory.dbapi import Where, where_of


def where(factory: sessionmaker[Session]) -> Where:
    """Where FACTORY's engine points: the same SQLite file or PostgreSQL database."""
    found = where_of(factory.kw["bind"].url.render_as_string(hide_password=False))
    assert found is not None, "verify opens SQLite files and PostgreSQL"
    return found
