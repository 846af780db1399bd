"""A host's health series with their times, read from the REAL stores (the embedded SQLite store
and the session's VictoriaMetrics), as the Berita Acara's charts take them. Points are written
as the agent and `collect --probe ssh` make them; a store that is down is an error that says so.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from pelihara.collector.health_series import read_health, read_health_around
from pelihara.collector.health_window import HealthNotCompared
from pelihara.core.errors import ExitCode
from pelihara.facts.health_window import Metric
from pelihara.timeseries.base import Point
from pelihara.timeseries.victoria import VictoriaStore
from tests.realservers.base import free_port
from tests.timeseries import unique
from tests.timeseries.written import HOUR, MINUTE, SECOND, Written, point, recent_pair, written

__all__ = ["written"]  # a fixture: the real store under test


def _cpu(host: str, at: datetime, value: float, source: str = "agent") -> Point:
    return point("cpu", host, at, {"usage_percent": value}, source, cpu="total")


def _pairs(found: dict[Metric, Any], metric: Metric) -> list[tuple[datetime, float]]:
    series = found[metric]
    return list(zip(series.times(), series.values, strict=True))


def test_each_metric_comes_with_its_times_inside_the_span_only(written: Written) -> None:
    host, other = unique("pltest-chart"), unique("pltest-other")
    start, end = recent_pair()
    cpu = [(start - HOUR, 10.0), (start + MINUTE, 80.0), (end, 30.0), (end + HOUR, 20.0)]
    written.write([
        *(_cpu(host, at, value) for at, value in cpu),
        _cpu(host, start - HOUR - SECOND, 99.0), _cpu(host, end + HOUR + SECOND, 99.0),
        _cpu(other, start, 99.0),
        point("memory", host, start - MINUTE, {"used_percent": 40.0}),
        point("load", host, end + MINUTE, {"load1": 1.5, "load5": 1.0, "load15": 0.5}),
        point("filesystem", host, start, {"used_percent": 50.0}, mount="/", fstype="ext4"),
        point("filesystem", host, end, {"used_percent": 20.0}, mount="/var/lib/x y"),
    ])  # fmt: skip
    found = read_health_around(written.store, host, start, end)
    assert list(found) == [Metric("cpu"), Metric("load1"), Metric("memory"),
                           Metric("mount", "/"), Metric("mount", "/var/lib/x y")]  # fmt: skip
    assert _pairs(found, Metric("cpu")) == cpu  # ends included, the other host left out
    assert _pairs(found, Metric("load1")) == [(end + MINUTE, 1.5)]
    assert _pairs(found, Metric("mount", "/var/lib/x y")) == [(end, 20.0)]
    assert {series.source for series in found.values()} == {"agent"}


def test_cpu_times_become_busy_percents_at_the_later_sample(written: Written) -> None:
    host = unique("pltest-ssh")
    start, end = recent_pair()
    times = [(start - 2 * MINUTE, 100.0, 900.0), (start - MINUTE, 130.0, 930.0),
             (end + MINUTE, 160.0, 1020.0)]  # fmt: skip
    written.write([
        point("cpu_time", host, at, {"user_seconds": user, "idle_seconds": idle}, "ssh",
               cpu="total")
        for at, user, idle in times
    ])  # fmt: skip
    found = read_health(written.store, host, start - HOUR, end + HOUR)
    assert _pairs(found, Metric("cpu")) == [(start - MINUTE, 50.0), (end + MINUTE, 25.0)]
    assert found[Metric("cpu")].source == "ssh"


def test_of_several_sources_the_agent_is_drawn(written: Written) -> None:
    host = unique("pltest-sources")
    start, end = recent_pair()
    written.write([_cpu(host, start, 90.0, "snmp"), _cpu(host, start, 10.0, "agent"),
                   point("memory", host, end, {"used_percent": 70.0}, "snmp")])  # fmt: skip
    found = read_health(written.store, host, start, end)
    assert (found[Metric("cpu")].source, found[Metric("cpu")].values) == ("agent", (10.0,))
    assert found[Metric("memory")].source == "snmp"  # the only one there is


def test_a_host_without_samples_has_no_series(written: Written) -> None:
    start, end = recent_pair()
    written.write([_cpu(unique("pltest-someone-else"), start, 10.0)])
    assert read_health(written.store, unique("pltest-silent"), start, end) == {}


def test_a_store_that_is_down_is_said_so_not_an_empty_chart() -> None:
    url = f"victoriametrics://127.0.0.1:{free_port()}?timeout=2"
    store = VictoriaStore(url)
    start, end = recent_pair()
    with pytest.raises(HealthNotCompared) as raised:
        read_health(store, "web01", start, end)
    assert raised.value.exit_code == ExitCode.UNREACHABLE
    assert "unreachable" in str(raised.value) and "127.0.0.1" in str(raised.value)
