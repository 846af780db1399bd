"""`pelihara agent run`: samples into the embedded store, once or as a service."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from pelihara.cli.main import cli
from pelihara.timeseries import Query, open_store, spool_path
from pelihara.timeseries.spools import spool_status
from tests.realservers.base import free_port, http_get
from tests.realservers.victoriametrics import running_victoriametrics
from tests.timeseries import Answer, answering_server
from tests.timeseries.victoria_instance import VictoriaInstance


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path))
    monkeypatch.delenv("PELIHARA_TSDB", raising=False)
    return tmp_path


def _measurements(*names: str) -> dict[str, int]:
    store = open_store()
    now = datetime.now(UTC)
    try:
        return {n: len(store.query(Query(n, now - timedelta(hours=1), now + timedelta(minutes=1))))
                for n in names}  # fmt: skip
    finally:
        store.close()


def test_once_fills_the_embedded_store_with_no_setup(home: Path) -> None:
    result = CliRunner().invoke(cli, ["agent", "run", "--once"])
    assert result.exit_code == 0, result.output + result.stderr
    counts = _measurements("cpu", "load", "memory", "filesystem", "net", "system")
    assert counts["cpu"] == os.cpu_count() + 1  # total and each core
    assert all(counts[name] >= 1 for name in ("load", "memory", "net", "system"))


def test_store_down_keeps_the_sample_and_says_so(home: Path) -> None:
    result = CliRunner().invoke(
        cli, ["agent", "run", "--once", "--tsdb", "victoriametrics://127.0.0.1:9/?timeout=1"]
    )
    assert result.exit_code == 4
    assert "points kept in the spool" in result.stderr


def test_store_answering_400_to_everything_is_a_failure_and_the_sample_is_kept(
    home: Path,
) -> None:
    answer = Answer(status=400, body=b"request refused by the auth proxy")
    with answering_server(answer) as port:
        url = f"victoriametrics://127.0.0.1:{port}"
        result = CliRunner().invoke(cli, ["agent", "run", "--once", "--tsdb", url])
    assert result.exit_code == 2, result.output + result.stderr
    assert "refused all" in result.stderr and "by the auth proxy" in result.stderr
    assert "points kept in the spool" in result.stderr
    status = spool_status(spool_path(url, "agent"))
    assert status.pending > 0 and status.rejected == 0


def test_store_without_deduplication_is_warned(home: Path) -> None:
    with running_victoriametrics() as vm:  # as packaged: no -dedup.minScrapeInterval
        url = f"victoriametrics://127.0.0.1:{vm.port}"
        result = CliRunner().invoke(cli, ["agent", "run", "--once", "--tsdb", url])
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stderr.count("-dedup.minScrapeInterval=1ms") == 1, result.stderr


def test_service_stops_cleanly_on_sigterm(home: Path) -> None:
    env = {**os.environ, "PELIHARA_HOME": str(home)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pelihara.cli.main", "agent", "run", "--interval", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _count_cycles(home) < 2:
            time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0, process.stderr.read() if process.stderr else ""
    finally:
        if process.poll() is None:
            process.kill()
    assert _measurements("memory")["memory"] >= 2


def _pending_after_failed_flush(spool: Path) -> int:
    """Points waiting in SPOOL once a flush has failed there (0 before)."""
    if not spool.exists():
        return 0
    try:
        status = spool_status(spool)
    except sqlite3.Error:  # the agent creating the file at this moment
        return 0
    return status.pending if status.last_error else 0


def test_sigterm_while_the_store_is_down_exits_0_and_keeps_the_points(
    home: Path, tmp_path: Path
) -> None:
    port = free_port()  # nobody listens there: the store is down
    url = f"victoriametrics://127.0.0.1:{port}?timeout=1"
    spool = spool_path(url, "agent")
    env = {**os.environ, "PELIHARA_HOME": str(home)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pelihara.cli.main", "agent", "run", "--interval", "1",
         "--tsdb", url],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60  # bounds the test; asserts no timing
        while time.monotonic() < deadline and _pending_after_failed_flush(spool) == 0:
            time.sleep(0.2)
        waiting = _pending_after_failed_flush(spool)
        assert waiting > 0, "the agent never spooled a sample with the store down"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == 0, stderr
    assert "points kept in the spool for the next start" in stderr
    kept = spool_status(spool)
    assert kept.pending >= waiting and kept.rejected == 0

    store = VictoriaInstance(tmp_path / "vm", port=port)  # the store comes back
    try:
        store.start()
        sent = CliRunner().invoke(cli, ["agent", "run", "--once", "--tsdb", url])
        assert sent.exit_code == 0, sent.output + sent.stderr
        assert spool_status(spool).pending == 0
        assert len(_stored_ms(store, "memory_total_bytes")) >= 2  # the kept and the new
    finally:
        store.stop()


def _stored_ms(store: VictoriaInstance, metric: str) -> list[int]:
    """Timestamps of METRIC up to a minute from now (the export's default end can miss the
    newest second)."""
    http_get(f"{store.base_url}/internal/force_flush")
    query = urllib.parse.urlencode({"match[]": metric, "start": 0, "end": int(time.time()) + 60})
    body = http_get(f"{store.base_url}/api/v1/export?{query}").decode()
    return [stamp for line in body.splitlines() for stamp in json.loads(line)["timestamps"]]


def _count_cycles(home: Path) -> int:
    if not (home / "timeseries.db").exists():
        return 0
    try:
        return _measurements("memory")["memory"]
    except Exception:  # the store being created by the agent at this moment
        return 0


def test_tsdb_query_reads_back_what_the_agent_wrote(home: Path) -> None:
    assert CliRunner().invoke(cli, ["agent", "run", "--once"]).exit_code == 0
    result = CliRunner().invoke(
        cli,
        ["tsdb", "query", "cpu", "--tag", "cpu=total", "--tag", "source=agent", "--format", "json"],
    )
    rows = json.loads(result.output)
    assert len(rows) == 1 and 0 <= rows[0]["usage_percent"] <= 100
    bad = CliRunner().invoke(cli, ["tsdb", "query", "cpu", "--since", "yesterday"])
    assert bad.exit_code == 2 and "30s, 15m, 2h, 7d" in bad.stderr


def test_the_host_tag_is_the_inventory_name_or_host(home: Path) -> None:
    """collect, snapshots and the diff's --health find a server's series by its inventory
    hostname: the agent tags with the machine's first label, lowercase, or with --host."""
    import socket

    assert CliRunner().invoke(cli, ["agent", "run", "--once"]).exit_code == 0
    assert (
        CliRunner().invoke(cli, ["agent", "run", "--once", "--host", "dinkes-web01"]).exit_code == 0
    )
    store = open_store()
    now = datetime.now(UTC)
    try:
        points = store.query(Query("memory", now - timedelta(hours=1), now + timedelta(minutes=1)))
    finally:
        store.close()
    expected = socket.gethostname().split(".")[0].lower()
    assert sorted(point.tags["host"] for point in points) == sorted([expected, "dinkes-web01"])
