"""A long import shows a moving bar on a terminal; into a pipe it prints only its summary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.terminal import stderr_on_a_terminal

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inventory.csv"
PELIHARA = str(Path(sys.executable).parent / "pelihara")


def test_a_terminal_sees_a_bar_a_pipe_only_the_summary(tmp_path: Path) -> None:
    env = {**os.environ, "PELIHARA_HOME": str(tmp_path), "PELIHARA_DB": "", "TERM": "xterm",
           "COLUMNS": "100"}  # fmt: skip
    subprocess.run([PELIHARA, "init"], env=env, check=True, capture_output=True)
    argv = [PELIHARA, "inventory", "import", str(EXAMPLE), "--dry-run"]
    status, stdout, shown = stderr_on_a_terminal(argv, env)
    assert status == 0, shown
    assert b"importing inventory.csv: every row checked, then written" in shown
    assert b"would import 50 new" in stdout and b"importing" not in stdout
    piped = subprocess.run(argv, env=env, capture_output=True, check=False)
    assert piped.returncode == 0 and piped.stderr == b""
    assert b"would import 50 new" in piped.stdout
