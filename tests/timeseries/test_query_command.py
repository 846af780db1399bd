"""`pelihara tsdb query` as a person reads it: a measurement that does not exist is said to,
columns in a stable, natural order, sizes for people in tables and exact in JSON, counters
and sizes as integers from every store, and a missing embedded store left uncreated."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pelihara.cli.main import cli
from pelihara.timeseries import open_store
from pelihara.timeseries.base import Point
from pelihara.timeseries.measurements import field_order, natural_key, typed
from tests.realservers.victoriametrics import VictoriaMetricsServer

GIB = 1024**3


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path))
    monkeypatch.delenv("PELIHARA_TSDB", raising=False)
    return tmp_path


def _query(*args: str) -> Result:
    return CliRunner().invoke(cli, ["tsdb", "query", *args])


def _write(points: list[Point], url: str | None = None) -> None:
    store = open_store(url)
    try:
        store.write(points)
    finally:
        store.close()


def test_an_unknown_measurement_says_so_and_names_the_near_one(home: Path) -> None:
    _write([Point("load", {"host": "web1"}, {"load1": 0.5}, time.time_ns())])
    result = _query("lod")
    assert result.exit_code == 2
    assert "no such measurement (did you mean load?): pelihara writes cpu, cpu_time" in (
        result.stderr
    )
    empty = _query("swap", "--tag", "host=web1")
    assert empty.exit_code == 0 and empty.stdout == ""
    assert empty.stderr.startswith("no swap points since ") and "WIB, host=web1" in empty.stderr


def test_columns_in_natural_order_and_sizes_for_people(home: Path) -> None:
    now = time.time_ns()
    _write([
        Point("load", {"source": "agent", "host": "web1"},
              {"load15": 0.25, "load5": 0.5, "load1": 1.5}, now),
        Point("memory", {"source": "snmp", "host": "web1"},
              {"used_percent": 50.0, "used_bytes": 4 * GIB, "total_bytes": 8 * GIB}, now),
    ])  # fmt: skip
    table = _query("load").stdout
    header = next(line for line in table.splitlines() if "load1" in line)
    names = [cell.strip() for cell in header.strip("┃ ").split("┃")]
    assert names == ["time", "host", "source", "load1", "load5", "load15"]
    memory = _query("memory").stdout
    assert "8.0 GiB" in memory and "4.0 GiB" in memory and str(8 * GIB) not in memory
    exact = json.loads(_query("memory", "--format", "json").stdout)
    assert exact[0]["total_bytes"] == 8 * GIB and type(exact[0]["total_bytes"]) is int
    assert exact[0]["time"].endswith("Z")  # ISO-8601, UTC


def test_integers_come_back_as_integers_from_victoriametrics(
    home: Path, victoriametrics_server: VictoriaMetricsServer
) -> None:
    """VictoriaMetrics stores every number as a float; counters and sizes are read back as
    the integers they were written as."""
    url = f"victoriametrics://127.0.0.1:{victoriametrics_server.port}"
    host = f"web-{uuid.uuid4().hex[:8]}"
    fields = {"bytes_recv": 123_456_789_012, "packets_recv": 42, "errors_in": 0}
    _write([Point("net", {"host": host, "interface": "eth0"}, fields, time.time_ns())], url)
    victoriametrics_server.force_flush()
    rows = json.loads(_query("net", "--tsdb", url, "--tag", f"host={host}", "--format",
                             "json").stdout)  # fmt: skip
    assert [{k: (v, type(v)) for k, v in row.items() if k in fields} for row in rows] == [
        {name: (value, int) for name, value in fields.items()}
    ]


def test_typed_and_the_orders() -> None:
    point = Point("diskio", {}, {"reads": 3.0, "busy_ms": 1.5, "odd": 2.0}, 0)
    assert typed(point).fields == {"reads": 3, "busy_ms": 1.5, "odd": 2.0}
    assert field_order("net", ["drops_in", "bytes_sent", "zeta", "bytes_recv"]) == [
        "bytes_recv", "bytes_sent", "drops_in", "zeta"
    ]  # fmt: skip
    assert sorted(["cpu10", "cpu2", "cpu1", "total"], key=natural_key) == [
        "cpu1", "cpu2", "cpu10", "total"
    ]  # fmt: skip


def test_a_missing_embedded_store_is_named_and_not_created(home: Path) -> None:
    result = _query("load")
    assert result.exit_code == 6
    assert f"no time-series store at {home / 'timeseries.db'}" in result.stderr
    assert not (home / "timeseries.db").exists() and list(home.iterdir()) == []


def test_every_field_pelihara_writes_is_in_the_catalogue() -> None:
    """The agent's sample and the collector's readings name only catalogued fields, so that
    their order and their integers cannot drift from what is written."""
    from pelihara.agent.health import Sampler
    from pelihara.timeseries.measurements import MEASUREMENTS

    for point in Sampler("x").sample():
        assert set(point.fields) <= set(MEASUREMENTS[point.measurement]), point.measurement
