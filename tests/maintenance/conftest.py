"""The ticket tests use the inventory's databases: SQLite and the real PostgreSQL."""

from tests.inventory.conftest import db_url, engine, factory

__all__ = ["db_url", "engine", "factory"]
