"""Where the database is: a relative `sqlite:///` path is made absolute and printed so, and
no command but `init` creates a database (a read-only one opens nothing that is missing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pelihara.cli.main import cli
from pelihara.inventory.db import absolute_url

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "inventory.csv"


def test_a_relative_sqlite_path_is_resolved_and_printed_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path / "home"))
    before = CliRunner().invoke(cli, ["--db", "sqlite:///data/dc.db", "inventory", "list"])
    assert f"the database {tmp_path}/data/dc.db is not initialised" in before.stderr
    created = CliRunner().invoke(cli, ["--db", "sqlite:///data/dc.db", "init"])
    assert created.exit_code == 0
    assert created.output.startswith(f"database sqlite:///{tmp_path}/data/dc.db: created")
    assert (tmp_path / "data" / "dc.db").is_file()


def test_absolute_url_leaves_the_others_alone() -> None:
    assert absolute_url("sqlite:////srv/dc.db") == "sqlite:////srv/dc.db"
    assert absolute_url("sqlite:///:memory:") == "sqlite:///:memory:"
    assert absolute_url("postgresql://dc:s3cret@db/inv") == "postgresql://dc:s3cret@db/inv"
    assert absolute_url("not a url") == "not a url"


READING = [
    ("inventory", "list"), ("inventory", "show", "web01"), ("audit", "log"), ("audit", "head"),
    ("audit", "verify"), ("verify", "list"), ("verify", "show", "1"),
]  # fmt: skip
WRITING = [("inventory", "import", str(EXAMPLE)), ("verify", "--all", "--probe", "dns")]


@pytest.mark.parametrize("args", READING + WRITING, ids=" ".join)
def test_before_init_a_command_says_run_init_and_creates_nothing(
    args: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("PELIHARA_HOME", str(home))
    monkeypatch.delenv("PELIHARA_DB", raising=False)
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 6
    assert f"the database {home}/pelihara.db is not initialised: run `pelihara init`" in (
        result.stderr
    )
    assert not home.exists()
