"""`verify` at its edges: what it leaves behind in the caller's process, a database that
fails under it, checks that raise or have no data, and the per-host verdict."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SIDE_EFFECTS = """
import gc, json, sys
from pathlib import Path
from pelihara import migrations
from pelihara.collector.verify import VerifyRequest, run_verify
from pelihara.inventory.db import make_engine, session_factory
from pelihara.inventory.importer import import_file
import pelihara.collector.collect, pelihara.collector.probes.ssh  # paramiko too
imported = repr(sys.modules.get("invoke", "not imported"))
engine = make_engine(sys.argv[1])
migrations.upgrade(engine)
factory = session_factory(engine)
import_file(factory, Path(sys.argv[2]), "tester")
run_verify(factory, VerifyRequest(hosts=("pltest-local",), probes=("local",)), "tester")
print(json.dumps({"invoke": imported, "frozen": gc.get_freeze_count()}))
"""


def test_importing_and_verifying_leave_the_process_as_it_was(tmp_path: Path) -> None:
    """A program that imports pelihara's collector and runs a verify keeps its `invoke`
    (before: blocked by an import of `pelihara.collector.probes`) and its garbage
    collector (before: `gc.freeze()` for good)."""
    csv = tmp_path / "one.csv"
    csv.write_text("hostname,ip,domain,opd\npltest-local,127.0.0.1,local.test,Uji\n", "utf-8")
    argv = [sys.executable, "-c", SIDE_EFFECTS, f"sqlite:///{tmp_path / 'p.db'}", str(csv)]
    result = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120)
    state = json.loads(result.stdout)
    assert state["invoke"].startswith("<module 'invoke'"), state
    assert state["frozen"] == 0
