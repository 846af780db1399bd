"""PostgreSQL with an owner role for the migrations and an application role that may only
INSERT and SELECT on the audit log: examples/postgresql-roles.sql and -grants.sql, run with
the real psql against the test cluster, as the README tells an administrator to."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from pelihara.cli.main import cli
from tests.inventory.conftest import HEADER
from tests.layout import ROOT
from tests.realservers.base import require_binary

EXAMPLES = ROOT / "examples"

pytestmark = pytest.mark.postgresql


def _psql(url: str, user: str, database: str, script: Path, **variables: str) -> None:
    parsed = make_url(url)
    psql = require_binary("psql", "postgresql-client")
    argv = [psql, "-X", "-q", "-h", str(parsed.host), "-p", str(parsed.port), "-U", user,
            "-d", database, "-f", str(script)]  # fmt: skip
    for name, value in variables.items():
        argv += ["-v", f"{name}={value}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def _url(server_url: str, user: str, database: str) -> str:
    url = make_url(server_url).set(username=user, database=database)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def roles(postgresql_url: str) -> Iterator[dict[str, str]]:
    """A database made by postgresql-roles.sql, with its own owner and application roles."""
    tag = uuid.uuid4().hex[:8]
    names = {"owner": f"pltest_owner_{tag}", "app": f"pltest_app_{tag}", "db": f"pltest_{tag}"}
    _psql(postgresql_url, "postgres", "postgres", EXAMPLES / "postgresql-roles.sql", **names)
    yield names
    admin = create_engine(postgresql_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{names["db"]}" WITH (FORCE)'))
        connection.execute(text(f'DROP ROLE "{names["app"]}"'))
        connection.execute(text(f'DROP ROLE "{names["owner"]}"'))
    admin.dispose()


def _pelihara(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", url, "--actor", "tester", *args])


def test_application_role_may_only_insert_and_select_on_the_log(
    postgresql_url: str, roles: dict[str, str], tmp_path: Path
) -> None:
    owner = _url(postgresql_url, roles["owner"], roles["db"])
    app = _url(postgresql_url, roles["app"], roles["db"])
    assert _pelihara(app, "init").exit_code == 6  # the application role creates nothing
    assert _pelihara(owner, "init").exit_code == 0
    grants = EXAMPLES / "postgresql-grants.sql"
    _psql(postgresql_url, roles["owner"], roles["db"], grants, app=roles["app"])

    inventory = tmp_path / "a.csv"
    inventory.write_text(f"{HEADER}\nweb1,10.0.0.1,w.go.id,Dinas A\n", encoding="utf-8")
    assert _pelihara(app, "inventory", "import", str(inventory)).exit_code == 0
    assert _pelihara(app, "audit", "verify", "--state").exit_code == 0
    assert _pelihara(app, "init").exit_code == 0  # on a current schema: a check, no change

    engine = create_engine(app)
    refused = [
        "UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log",
        "DROP TRIGGER audit_log_no_change ON audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
        "UPDATE alembic_version SET version_num = '0001'",
    ]  # fmt: skip
    for statement in refused:
        with (
            pytest.raises(ProgrammingError, match=r"permission denied|must be owner"),
            engine.begin() as connection,
        ):
            connection.execute(text(statement))
    engine.dispose()
    result = _pelihara(app, "audit", "verify")
    assert result.exit_code == 0 and "intact: 2 entries (hash chain and MACs)" in result.stdout

    owner_engine = create_engine(owner)  # the owner can drop a trigger; only it restores one
    with owner_engine.begin() as connection:
        connection.execute(text("DROP TRIGGER audit_log_no_truncate ON audit_log"))
    owner_engine.dispose()
    assert _pelihara(app, "audit", "verify").exit_code == 1
    refused = _pelihara(app, "init")
    assert refused.exit_code == 6
    assert "run `pelihara init` as the database's owner" in refused.stderr
    assert _pelihara(owner, "init").exit_code == 0
    assert _pelihara(app, "audit", "verify").exit_code == 0
