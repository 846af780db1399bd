"""Running the SSH bundle's shell script on this machine, as the SSH probe runs it remotely."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def path_without_pelihara() -> str:
    """This PATH without the directories holding a `pelihara` (so the raw tools are read)."""
    directories = os.environ.get("PATH", "").split(os.pathsep)
    kept = [d for d in directories if d and not (Path(d) / "pelihara").exists()]
    return os.pathsep.join(kept) or "/usr/bin:/bin"


def run_script(script: str, path: str | None = None) -> str:
    """SCRIPT's output from `sh -s`, with PATH (default: without pelihara)."""
    env = {"PATH": path or path_without_pelihara(), "HOME": os.environ.get("HOME", "/")}
    done = subprocess.run(
        ["sh", "-s"], input=script.encode(), capture_output=True, env=env, timeout=120, check=True
    )
    return done.stdout.decode("utf-8", errors="replace")
