"""The victoriametrics_server fixture: write with influxdb-client, read back via /api/v1/export."""

from __future__ import annotations

import json
import time
import urllib.parse
import uuid

from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write.point import Point
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision

from tests.realservers.base import http_get
from tests.realservers.victoriametrics import VictoriaMetricsServer


def test_health(victoriametrics_server: VictoriaMetricsServer) -> None:
    assert http_get(f"{victoriametrics_server.base_url}/health").strip() == b"OK"


def test_influx_write_then_export(victoriametrics_server: VictoriaMetricsServer) -> None:
    host = f"h-{uuid.uuid4().hex[:8]}"
    ts_ns = (time.time_ns() // 1_000_000 - 60_000) * 1_000_000  # a minute ago, whole ms
    point = Point("cpu").tag("host", host).field("usage", 42.5).time(ts_ns, WritePrecision.NS)
    with InfluxDBClient(url=victoriametrics_server.base_url, token="x", org="x") as client:
        client.write_api(write_options=SYNCHRONOUS).write(bucket="x", record=point)

    http_get(f"{victoriametrics_server.base_url}/internal/force_flush")
    query = urllib.parse.urlencode({"match[]": f'cpu_usage{{host="{host}"}}'})
    body = http_get(f"{victoriametrics_server.base_url}/api/v1/export?{query}").decode()
    series = [json.loads(line) for line in body.splitlines() if line.strip()]

    assert len(series) == 1
    assert series[0]["metric"] == {"__name__": "cpu_usage", "host": host}
    assert series[0]["values"] == [42.5]
    assert series[0]["timestamps"] == [ts_ns // 1_000_000]
