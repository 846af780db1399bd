"""A run lock, so that two cron-started runs of the same job never overlap."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pelihara.core.errors import ExitCode, PeliharaError


class LockedError(PeliharaError):
    """Another run holds the lock."""

    exit_code = ExitCode.BUSY


@contextmanager
def run_lock(path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on PATH for the block, or raise `LockedError` at once.

    The kernel releases the lock when the process ends, however it ends: a crashed run
    never leaves a stale lock behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise LockedError(f"another {what} is running (pid {holder}); not starting") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
