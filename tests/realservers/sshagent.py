"""OpenSSH's ssh-agent on a private UNIX socket, holding the keys a test adds."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.realservers.base import POLL_SECONDS, READY_TIMEOUT_SECONDS, require_binary

PACKAGE = "openssh-client"


@contextmanager
def running_ssh_agent(directory: Path, *keys: Path) -> Iterator[Path]:
    """ssh-agent in the foreground (`-D`) on DIRECTORY/agent.sock with KEYS added; yields the
    socket (for SSH_AUTH_SOCK) and stops the agent by its PID at the end."""
    agent = require_binary("ssh-agent", PACKAGE)
    add = require_binary("ssh-add", PACKAGE)
    sock = directory / "agent.sock"
    process = subprocess.Popen([agent, "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not sock.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ssh-agent did not create {sock}")
            time.sleep(POLL_SECONDS)
        env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
        for key in keys:
            subprocess.run([add, "-q", str(key)], env=env, check=True, capture_output=True)
        yield sock
    finally:
        process.terminate()
        process.wait(timeout=10)
