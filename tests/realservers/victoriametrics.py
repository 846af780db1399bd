"""VictoriaMetrics single-node on 127.0.0.1: InfluxDB line protocol in, /api/v1/export out."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

from tests.realservers.base import (
    RunningServer,
    free_port,
    http_get,
    make_temp_dir,
    removed_on_error,
    require_binary,
    start_process,
    start_retrying,
)

VICTORIA_METRICS = "victoria-metrics"
PACKAGE = "victoria-metrics"
# One sample per series and millisecond: a point written twice is kept once. Without it,
# VictoriaMetrics (1.79) stores and exports both copies of a re-sent sample.
DEDUP_FLAG = "-dedup.minScrapeInterval=1ms"


@dataclass(frozen=True)
class VictoriaMetricsServer:
    """What a test needs to write to and read from the running VictoriaMetrics."""

    host: str
    port: int
    base_url: str
    server: RunningServer

    def force_flush(self) -> None:
        """Make fresh writes searchable at once (`GET /internal/force_flush`)."""
        http_get(f"{self.base_url}/internal/force_flush")


def healthy(base_url: str) -> bool:
    """True once `GET /health` answers OK."""
    try:
        return http_get(f"{base_url}/health", timeout=1).strip() == b"OK"
    except OSError:
        return False


def start_victoriametrics(extra_flags: Sequence[str] = ()) -> VictoriaMetricsServer:
    """Start VictoriaMetrics on a free port, fresh data dir, EXTRA_FLAGS; wait for /health.

    `/health` answers without credentials even when `-httpAuth.*` flags are given.
    """
    binary = require_binary(VICTORIA_METRICS, PACKAGE)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with removed_on_error(make_temp_dir("victoriametrics")) as directory:
        argv = [
            binary,
            f"-storageDataPath={directory / 'data'}",
            f"-httpListenAddr=127.0.0.1:{port}",
            "-retentionPeriod=1d",
            "-search.latencyOffset=0s",
            *extra_flags,
        ]
        log = directory / "victoria-metrics.log"
        server = start_process("victoria-metrics", argv, port, directory, log)
        server.wait_ready(lambda: server.listening() and healthy(base_url))
    return VictoriaMetricsServer(host=server.host, port=port, base_url=base_url, server=server)


@contextmanager
def running_victoriametrics(extra_flags: Sequence[str] = ()) -> Iterator[VictoriaMetricsServer]:
    """A running VictoriaMetrics (with EXTRA_FLAGS) for the duration of the block."""
    vm = start_retrying(partial(start_victoriametrics, extra_flags))
    try:
        yield vm
    finally:
        vm.server.stop()
