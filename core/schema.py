"""The database schema's revision this pelihara works with: the newest Alembic migration
(`migrations/versions`; tests/test_migrations.py keeps the two equal). Plain Python, so that
checking a database's revision imports neither Alembic nor SQLAlchemy."""

HEAD = "0009"
