"""A long import shows a moving bar on a terminal; into a pipe it prints only its summary."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inventory.csv"
PELIHARA = str(Path(sys.executable).parent / "pelihara")


def _stderr_on_a_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    """Run ARGV with stderr on a pseudo-terminal: (status, stdout, what the terminal showed)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    shown = b""
    while True:  # read as it comes: a full terminal buffer would stop the command
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the command closed its end
            break
        if not chunk:
            break
        shown += chunk
    stdout = process.stdout.read() if process.stdout else b""
    os.close(controller)
    return process.wait(timeout=60), stdout, shown


def test_a_terminal_sees_a_bar_a_pipe_only_the_summary(tmp_path: Path) -> None:
    env = {**os.environ, "PELIHARA_HOME": str(tmp_path), "PELIHARA_DB": "", "TERM": "xterm",
           "COLUMNS": "100"}  # fmt: skip
    subprocess.run([PELIHARA, "init"], env=env, check=True, capture_output=True)
    argv = [PELIHARA, "inventory", "import", str(EXAMPLE), "--dry-run"]
    status, stdout, shown = _stderr_on_a_terminal(argv, env)
    assert status == 0, shown
    assert b"importing inventory.csv: every row checked, then written" in shown
    assert b"would import 50 new" in stdout and b"importing" not in stdout
    piped = subprocess.run(argv, env=env, capture_output=True, check=False)
    assert piped.returncode == 0 and piped.stderr == b""
    assert b"would import 50 new" in piped.stdout
