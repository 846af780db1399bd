"""Running the SSH bundle's shell script on this machine, as the SSH probe runs it remotely."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pelihara.facts.model import Facts, facts_to_json


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


def fake_agent(directory: Path, facts: Facts | str | None) -> str:
    """A `pelihara` for the SSH user that prints FACTS (or the document given as text: another
    schema's) for exactly the verify call, or, with None, fails as an agent too old for
    `--scope` does. Returns the sshd_config line that puts it first on the PATH of sshd's
    sessions (DIRECTORY's parents must let the SSH user in)."""
    directory.chmod(0o755)  # sshd's session runs as the SSH user
    bin_dir = directory / "bin"
    bin_dir.mkdir(mode=0o755)
    answer = directory / "facts.json"
    text = facts if isinstance(facts, str) else facts_to_json(facts) if facts else ""
    answer.write_text(text, encoding="utf-8")
    answer.chmod(0o644)
    fake = bin_dir / "pelihara"
    fake.write_text(
        "#!/bin/sh\n"
        '[ "$*" = "agent facts --format json --scope hardware" ] || {\n'
        '  echo "Error: No such option: --scope" >&2; exit 2; }\n'
        f"[ -s {answer} ] && cat {answer} || {{ echo 'Error: No such option' >&2; exit 2; }}\n",
        encoding="ascii",
    )
    fake.chmod(0o755)
    return f"SetEnv PATH={bin_dir}:/usr/bin:/bin\n"
