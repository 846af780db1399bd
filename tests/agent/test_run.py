"""`pelihara agent run`: samples into the embedded store, once or as a service."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from pelihara.cli.main import cli
from pelihara.timeseries import Query, open_store


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
