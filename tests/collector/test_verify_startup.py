"""`pelihara verify` imports only what it uses: no SQLAlchemy, pydantic or the tickets'
modules for a run without `--ticket` (its run is written through `inventory.dbapi`), and
what it writes reads back through the ORM and the audit log as every other command's rows.

The import test runs the real command in a fresh interpreter whose importer refuses those
packages (as `tests/agent/test_package.py` does for the agent).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pelihara.cli.main import cli
from pelihara.collector.probes.local import this_machine_name

REFUSED = ("sqlalchemy", "alembic", "pydantic", "yaml", "pelihara.maintenance")

# A finder first on sys.meta_path refuses REFUSED (and notes the attempt); then the command
# runs as `pelihara verify ...` would, and the script prints what it tried to import.
SCRIPT = """
import importlib.abc, json, sys

REFUSED = sys.argv[1].split(",")
attempted = set()

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        for refused in REFUSED:
            if name == refused or name.startswith(refused + "."):
                attempted.add(refused)
                raise ImportError(f"refused by the import test: {name}")
        return None

sys.meta_path.insert(0, Refuse())
from pelihara.cli.main import main
sys.argv = ["pelihara", *sys.argv[2:]]
try:
    main()
    code = 0
except SystemExit as exc:
    code = exc.code
print(json.dumps({"exit": code, "attempted": sorted(attempted)}), file=sys.stderr)
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An initialised pelihara with this machine in its inventory."""
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PELIHARA_DB", raising=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    csv = tmp_path / "me.csv"
    csv.write_text(f"hostname,ip,domain,opd\n{this_machine_name()},127.0.0.1,me.test,Uji\n")
    assert runner.invoke(cli, ["inventory", "import", str(csv)]).exit_code == 0
    return tmp_path / "home"


def test_verify_runs_without_sqlalchemy_pydantic_or_the_tickets(home: Path) -> None:
    argv = [sys.executable, "-c", SCRIPT, ",".join(REFUSED), "verify", this_machine_name(),
            "--probe", "local", "--format", "json"]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    outcome = json.loads(result.stderr.strip().splitlines()[-1])
    assert outcome["attempted"] == [], result.stderr
    assert outcome["exit"] in (0, 1), result.stderr  # a run made: as the inventory says or not
    document = json.loads(result.stdout)
    assert document["hosts_done"] == 1 and document["findings"], document


def test_the_run_reads_back_through_the_orm_and_the_audit_log(home: Path) -> None:
    """What verify wrote without the ORM: `verify show` prints the same run and findings,
    `verify list` lists it, and the audit log's chain and MACs verify with its entry."""
    runner = CliRunner()
    ran = runner.invoke(cli, ["verify", this_machine_name(), "--probe", "local",
                              "--format", "json"])  # fmt: skip
    assert ran.exit_code in (0, 1), ran.output
    written = json.loads(ran.stdout)
    shown = json.loads(runner.invoke(cli, ["verify", "show", str(written["run"]),
                                           "--format", "json"]).stdout)  # fmt: skip
    for field in ("run", "actor", "probes", "hosts_total", "hosts_done", "exit_status",
                  "interrupted", "findings", "summary", "verdicts"):  # fmt: skip
        assert shown[field] == written[field], field
    assert shown["started_at"] == written["started_at"]
    assert [o["source"] for o in shown["observations"]] == ["local"]
    listed = runner.invoke(cli, ["verify", "list", "--format", "json"])
    assert [run["run"] for run in json.loads(listed.stdout)] == [written["run"]]
    audited = runner.invoke(cli, ["audit", "verify"])
    assert audited.exit_code == 0, audited.output
    log = json.loads(runner.invoke(cli, ["audit", "log", "--format", "json"]).stdout)
    entry = next(e for e in log if e["entity"] == "verify_run")
    assert entry["after"]["findings"] == written["summary"]


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite:///file:x.db?uri=true"])
def test_a_database_verify_cannot_write_to_is_refused_with_status_2(home: Path, url: str) -> None:
    result = CliRunner().invoke(cli, ["--db", url, "verify", "x", "--probe", "local"])
    assert result.exit_code == 2, result.output
    assert "SQLite file" in result.output and "PostgreSQL" in result.output


def test_a_wrong_audit_key_refuses_the_run_before_any_host(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log's latest entry was signed by another key: status 2 and nothing written (no
    run, no entry), as every other command that changes something."""
    runner = CliRunner()
    before = json.loads(runner.invoke(cli, ["audit", "log", "--format", "json"]).stdout)
    monkeypatch.setenv("PELIHARA_AUDIT_KEY", "f" * 64)
    result = runner.invoke(cli, ["verify", this_machine_name(), "--probe", "local"])
    assert result.exit_code == 2, result.output
    assert "did not sign the log's latest entry" in result.output
    monkeypatch.delenv("PELIHARA_AUDIT_KEY")
    after = json.loads(runner.invoke(cli, ["audit", "log", "--format", "json"]).stdout)
    assert after == before
    listed = runner.invoke(cli, ["verify", "list", "--format", "json"])
    assert json.loads(listed.stdout) == []
