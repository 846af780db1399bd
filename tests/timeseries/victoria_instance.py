"""A VictoriaMetrics that a test stops and starts again on the same port and data directory.

The session fixture (`tests/realservers/victoriametrics.py`) removes its data dir on stop, so
the reliability tests keep their own: data written before a restart must still be there after.
Started with `-dedup.minScrapeInterval=1ms` unless told otherwise: a batch re-sent after a crash
between the store's ack and the spool's delete (same series + millisecond) is then kept once.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.realservers.base import (
    RunningServer,
    free_port,
    http_get,
    make_temp_dir,
    removed_on_error,
    require_binary,
    start_process,
)
from tests.realservers.victoriametrics import DEDUP_FLAG, PACKAGE, VICTORIA_METRICS, healthy


@dataclass
class VictoriaInstance:
    """VictoriaMetrics on 127.0.0.1:PORT with its data in WORK/data, across stops and starts."""

    work: Path
    port: int = field(default_factory=free_port)
    basic_auth: tuple[str, str] | None = None  # -httpAuth.username / -httpAuth.password
    dedup: bool = True  # -dedup.minScrapeInterval=1ms
    flags: Sequence[str] = ()  # more flags, changed between stops and starts as a test needs
    server: RunningServer | None = None
    starts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def store_url(self, timeout_seconds: float | None = None) -> str:
        """The `victoriametrics://` URL for `open_store` (no credentials in it)."""
        query = f"?timeout={timeout_seconds:g}" if timeout_seconds is not None else ""
        return f"victoriametrics://127.0.0.1:{self.port}{query}"

    def _argv(self, binary: str) -> list[str]:
        argv = [
            binary,
            f"-storageDataPath={self.work / 'data'}",
            f"-httpListenAddr=127.0.0.1:{self.port}",
            "-retentionPeriod=1d",
            "-search.latencyOffset=0s",
            *([DEDUP_FLAG] if self.dedup else []),
            *self.flags,
        ]
        if self.basic_auth is not None:
            user, password = self.basic_auth
            argv += [f"-httpAuth.username={user}", f"-httpAuth.password={password}"]
        return argv

    def start(self) -> None:
        """Start on the same port and data dir as before; wait for /health (open without auth)."""
        assert self.server is None or self.server.stopped, "already running"
        binary = require_binary(VICTORIA_METRICS, PACKAGE)
        self.starts += 1
        self.work.mkdir(parents=True, exist_ok=True)
        log = self.work / f"victoria-metrics-{self.starts}.log"  # kept: RunningServer.dir is not
        with removed_on_error(make_temp_dir("vm-run")) as run_dir:  # removed again by stop()
            server = start_process("victoria-metrics", self._argv(binary), self.port, run_dir, log)
        self.server = server
        server.wait_ready(lambda: server.listening() and healthy(self.base_url))

    def stop(self) -> None:
        """SIGTERM (VictoriaMetrics writes what it holds in memory to disk), wait, then KILL."""
        if self.server is not None:
            self.server.stop()

    def export(self, match: str) -> list[dict[str, Any]]:
        """Raw samples of the series matching the selector MATCH (`/api/v1/export`)."""
        http_get(f"{self.base_url}/internal/force_flush")
        query = urllib.parse.urlencode({"match[]": match})
        body = http_get(f"{self.base_url}/api/v1/export?{query}").decode()
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def timestamps_ms(self, match: str) -> list[int]:
        """Every sample's timestamp (ms) in the series matching MATCH, duplicates included."""
        stamps: list[int] = []
        for series in self.export(match):
            stamps += [int(stamp) for stamp in series["timestamps"]]
        return sorted(stamps)


@contextmanager
def victoria_instance(
    work: Path,
    basic_auth: tuple[str, str] | None = None,
    started: bool = True,
    dedup: bool = True,
    flags: Sequence[str] = (),
) -> Iterator[VictoriaInstance]:
    """A VictoriaInstance in WORK, stopped at the end of the block."""
    instance = VictoriaInstance(work, basic_auth=basic_auth, dedup=dedup, flags=flags)
    try:
        if started:
            instance.start()
        yield instance
    finally:
        instance.stop()
