"""`pelihara agent package`: the agent as one file, and the import closure it relies on.

The closure test runs the agent's commands in a fresh interpreter whose importer refuses the
heavy libraries (SQLAlchemy, rich, paramiko, ...): what the single file leaves out, the agent
must not need. `test_zipapp.py` runs the built file itself in a venv that has only psutil.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import zipapp
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pelihara.agent.package import BUNDLED, ZIPAPP_CONTENTS, build_zipapp
from pelihara.cli.agent import size_text
from pelihara.cli.main import cli
from tests.agent import points_in_embedded_store

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "alembic", "paramiko", "pysnmp", "pyasn1", "dns", "rich", "openpyxl",
         "yaml", "influxdb_client")  # fmt: skip

# Run in a fresh interpreter: a finder first on sys.meta_path refuses HEAVY (and notes the
# attempt), then the file's group runs the commands as `python3 pelihara-agent.pyz` would.
CLOSURE_SCRIPT = """
import importlib.abc, json, sys

HEAVY = set(sys.argv[1].split(","))
attempted = set()

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in HEAVY:
            attempted.add(name.partition(".")[0])
            raise ImportError(f"refused by the closure test: {name}")
        return None

sys.meta_path.insert(0, Refuse())

from click.testing import CliRunner
import pelihara.agent.gather, pelihara.agent.run, pelihara.agent.package
from pelihara.cli.agent_file import agent_file

runs = {}
for name, args in json.loads(sys.argv[2]).items():
    result = CliRunner().invoke(agent_file, args)
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    runs[name] = {"exit": result.exit_code, "out": result.stdout, "err": result.stderr,
                  "crash": repr(result.exception) if crashed else None}
print(json.dumps({"runs": runs, "attempted": sorted(attempted)}))
"""
CLOSURE_RUNS = {
    "json": ["facts", "--format", "json"],
    "table": ["facts"],
    "once": ["run", "--once"],
    "influx": ["run", "--once", "--tsdb", "influxdb://127.0.0.1:9?org=dc&bucket=agent"],
    "spool": ["spool"],
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path))
    monkeypatch.delenv("PELIHARA_TSDB", raising=False)
    return tmp_path


def test_agent_runs_without_the_heavy_libraries(home: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CLOSURE_SCRIPT, ",".join(HEAVY), json.dumps(CLOSURE_RUNS)],
        capture_output=True, text=True, env={**os.environ, "PELIHARA_HOME": str(home)},
        timeout=300, check=True,
    )  # fmt: skip
    report: dict[str, Any] = json.loads(done.stdout)
    runs = report["runs"]
    assert {name: run["crash"] for name, run in runs.items()} == dict.fromkeys(runs)
    assert runs["json"]["exit"] == 0 and runs["once"]["exit"] == 0, runs
    facts = json.loads(runs["json"]["out"])
    assert facts["identity"]["hostname"] == socket.gethostname()
    # Without rich the table is plain text: a dashed line under each header, no box drawing.
    table = runs["table"]["out"]
    assert runs["table"]["exit"] == 0 and "\nfact " in table and "\n----" in table
    assert socket.gethostname() in table and "┃" not in table
    assert points_in_embedded_store("cpu") == (os.cpu_count() or 0) + 1  # total and each core
    influx = runs["influx"]
    assert influx["exit"] == 2 and "influxdb-client" in influx["err"]
    assert len(influx["err"].strip().splitlines()) == 1
    spool = runs["spool"]
    assert spool["exit"] == 0 and "waiting     0 points" in spool["out"], spool
    # Nothing but the table's rich and the influxdb writer even tried a heavy library.
    assert set(report["attempted"]) <= {"rich", "influxdb_client"}


def test_package_prints_path_size_and_sha256(tmp_path: Path) -> None:
    target = tmp_path / "agent.pyz"
    result = CliRunner().invoke(cli, ["agent", "package", "-o", str(target)])
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    assert result.output.splitlines() == [
        str(target),
        f"  size    {len(data)} bytes ({size_text(len(data))})",
        f"  sha256  {hashlib.sha256(data).hexdigest()}",
    ]
    assert zipapp.get_interpreter(str(target)) == "/usr/bin/env python3"
    assert os.access(target, os.X_OK)


def archive_names(entry: str) -> set[str]:
    """The names ENTRY of ZIPAPP_CONTENTS should have in the file, from the source tree."""
    if entry == "__init__.py":
        return {"pelihara/__init__.py"}  # the `package/` folder is `pelihara` itself
    source = ROOT / entry
    # a room is carried whole: its modules and its package data (facts/diff_rules.yaml)
    paths = (
        [path for path in source.rglob("*") if path.suffix in {".py", ".yaml"}]
        if source.is_dir()
        else [source]
    )
    return {f"pelihara/{path.relative_to(ROOT).as_posix()}" for path in paths
            if "__pycache__" not in path.parts}  # fmt: skip


def test_zipapp_holds_the_rooms_and_click_and_nothing_else(tmp_path: Path) -> None:
    with zipfile.ZipFile(build_zipapp(tmp_path / "agent.pyz")) as archive:
        assert archive.testzip() is None
        names = set(archive.namelist())
    ours = {name for name in names if name.startswith("pelihara/")}
    assert ours == set().union(*map(archive_names, ZIPAPP_CONTENTS))
    assert {"pelihara/cli/agent_file.py", "pelihara/agent/run.py"} <= ours
    assert not [name for name in ours if name.startswith("pelihara/collector")]
    (info,) = {name.split("/")[0] for name in names if ".dist-info/" in name}
    assert {name.split("/")[0] for name in names} == {"pelihara", "__main__.py", *BUNDLED, info}
    assert {"click/core.py", f"{info}/METADATA", f"{info}/licenses/LICENSE.txt"} <= names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_the_same_sources_give_the_same_bytes(tmp_path: Path) -> None:
    first = build_zipapp(tmp_path / "one.pyz").read_bytes()
    assert build_zipapp(tmp_path / "two.pyz").read_bytes() == first


def test_output_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "no" / "a.pyz"
    result = CliRunner().invoke(cli, ["agent", "package", "-o", str(target)])
    assert result.exit_code == 2
    assert result.stderr == f"error: cannot write {target}: No such file or directory\n"
    assert list(tmp_path.iterdir()) == []


def test_package_help_teaches_copy_run_and_service() -> None:
    result = CliRunner().invoke(cli, ["agent", "package", "--help"])
    for needed in ("zipapp", "scp ", "apt-get install python3-psutil", "pelihara-agent-pyz.service",
                   "ExecStart=/usr/bin/python3", "SHA-256", "node_exporter"):  # fmt: skip
        assert needed in result.output, needed


def test_pyz_service_keeps_the_settings_of_the_venv_service() -> None:
    """The same user, spool, stop and hardening settings; only the command differs."""

    def settings(name: str) -> set[str]:
        lines = (ROOT / "examples" / name).read_text(encoding="utf-8").splitlines()
        return {line for line in lines if line and not line.startswith(("#", "Description="))}

    venv, pyz = settings("pelihara-agent.service"), settings("pelihara-agent-pyz.service")
    assert pyz - venv == {
        "ExecStart=/usr/bin/python3 /usr/local/lib/pelihara/pelihara-agent.pyz run --interval 10"
    }
    assert {line for line in venv - pyz if not line.startswith("ExecStart=")} == set()
