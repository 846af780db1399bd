"""`pelihara.facts` is pure: no I/O, and nothing of the project but `pelihara.core`.

Maintenance and the report use it without a network or a database, and the agent ships
with it: importing it must load no client library and no room above it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pelihara.facts

FACTS_DIR = Path(pelihara.facts.__file__).resolve().parent
# Third-party libraries and the project's rooms that importing pelihara.facts must not load.
NOT_LOADED = (
    "paramiko", "sqlalchemy", "alembic", "psutil", "pysnmp", "dns", "influxdb_client",
    "click", "rich", "yaml", "openpyxl", "psycopg",
    "pelihara.agent", "pelihara.cli", "pelihara.collector", "pelihara.inventory",
    "pelihara.maintenance", "pelihara.migrations", "pelihara.timeseries",
)  # fmt: skip
# The standard library's ways to reach files, processes and the network. (`os` is loaded by
# every interpreter, so only the source can show that facts/ does not use it.)
IO_MODULES = {
    "os", "subprocess", "socket", "pathlib", "shutil", "io", "tempfile", "glob", "fcntl",
    "select", "selectors", "asyncio", "urllib", "http", "ssl", "ftplib", "smtplib",
    "multiprocessing", "threading", "concurrent", "sqlite3", "signal", "pty", "ctypes",
    "mmap", "fileinput", "logging", "platform", "importlib",
}  # fmt: skip
IO_BUILTINS = {"open", "print", "input", "exec", "eval", "__import__", "breakpoint"}
PROJECT_ALLOWED = ("pelihara.facts", "pelihara.core")

IMPORT_ALL = """
import importlib, json, pkgutil, sys
import pelihara.facts
names = [m.name for m in pkgutil.iter_modules(pelihara.facts.__path__, "pelihara.facts.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": names, "loaded": sorted(sys.modules)}))
"""


def facts_sources() -> list[Path]:
    return sorted(FACTS_DIR.glob("*.py"))


def imported_modules(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def called_names(tree: ast.Module) -> set[str]:
    return {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }


def test_importing_every_facts_module_loads_no_client_library_and_no_higher_room(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,  # not the repository: its folders must not be found as bare names
    )
    answer = json.loads(done.stdout)
    assert len(answer["modules"]) == len(facts_sources()) - 1  # all but __init__
    assert {"pelihara.facts.model", "pelihara.facts.bundle"} <= set(answer["modules"])
    loaded = [
        name
        for name in answer["loaded"]
        if any(name == banned or name.startswith(f"{banned}.") for banned in NOT_LOADED)
    ]
    assert loaded == []


def test_no_facts_module_imports_a_way_to_do_io() -> None:
    assert len(facts_sources()) > 5
    for path in facts_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        modules = imported_modules(tree)
        io = {name for name in modules if name.split(".")[0] in IO_MODULES}
        assert io == set(), path.name
        project = {name for name in modules if name.split(".")[0] == "pelihara"}
        assert all(name.startswith(PROJECT_ALLOWED) for name in project), (path.name, project)
        assert called_names(tree) & IO_BUILTINS == set(), path.name


def test_the_check_sees_an_import_and_a_call() -> None:
    tree = ast.parse("import os.path\nfrom subprocess import run\nopen('x')\n")
    assert imported_modules(tree) == {"os.path", "subprocess"}
    assert "open" in called_names(tree)
