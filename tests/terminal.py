"""Running a command with its output on a pseudo-terminal, as an operator sees it."""

from __future__ import annotations

import os
import pty
import subprocess


def _shown(controller: int) -> bytes:
    """Everything the terminal showed, read as it comes (a full terminal buffer would stop
    the command) until the command closes its end."""
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the command closed its end
            break
        if not chunk:
            break
        shown += chunk
    return shown


def stderr_on_a_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    """Run ARGV with stderr on a pseudo-terminal and stdout into a pipe: (status, stdout,
    what the terminal showed)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    shown = _shown(controller)
    stdout = process.stdout.read() if process.stdout else b""
    os.close(controller)
    return process.wait(timeout=60), stdout, shown


def stdout_on_a_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, bytes]:
    """Run ARGV with stdout and stderr on a pseudo-terminal: (status, what it showed)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(argv, env=env, stdout=terminal, stderr=terminal)
    os.close(terminal)
    shown = _shown(controller)
    os.close(controller)
    return process.wait(timeout=60), shown
