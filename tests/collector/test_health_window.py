"""Health around a pre/post pair, read from the REAL stores: the embedded SQLite store and the
session's VictoriaMetrics. Points are written through each store's own writer, as the agent
(`agent.health.Sampler`) and `collect --probe ssh` (`collector.health_points`) make them, at
times around a fake pre/post pair; a store that is down or refuses is an error that says so.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pelihara.agent.health import Sampler
from pelihara.collector.health_points import ssh_readings, to_points
from pelihara.collector.health_window import (
    HealthNotCompared,
    health_around,
    health_of_snapshots,
    load_thresholds,
    open_health_store,
)
from pelihara.core.errors import ConfigurationError, ExitCode, InputError
from pelihara.facts.health_window import DEFAULT_THRESHOLDS, health_comparison_dict
from pelihara.facts.model import Facts, Identity
from pelihara.facts.snapshot import Snapshot
from pelihara.timeseries.base import Point
from pelihara.timeseries.selection import datetime_ns
from pelihara.timeseries.sqlite import SqliteStore
from pelihara.timeseries.victoria import VictoriaStore
from tests.realservers.base import free_port
from tests.realservers.victoriametrics import VictoriaMetricsServer, running_victoriametrics
from tests.timeseries import unique
from tests.timeseries.written import HOUR, MINUTE, SECOND, Written, point, recent_pair, written

__all__ = ["written"]  # a fixture: the real store under test


def _cpu(host: str, at: datetime, value: float, cpu: str = "total") -> Point:
    return point("cpu", host, at, {"usage_percent": value}, cpu=cpu)


def _metric(document: dict[str, Any], kind: str, mount: str | None = None) -> dict[str, Any]:
    (found,) = [m for m in document["metrics"] if (m["metric"], m["mount"]) == (kind, mount)]
    return found


def test_the_windows_hold_exactly_their_samples_of_their_host(written: Written) -> None:
    host, other = unique("pltest-web"), unique("pltest-other")
    pre, post = recent_pair()
    inside_before = [(pre - HOUR, 10.0), (pre - 30 * MINUTE, 20.0), (pre, 30.0)]  # ends kept
    inside_after = [(post, 50.0), (post + 30 * MINUTE, 60.0), (post + HOUR, 70.0)]
    outside = [pre - HOUR - SECOND, pre + SECOND, post - SECOND, post + HOUR + SECOND]
    written.write([
        *(_cpu(host, at, value) for at, value in inside_before + inside_after),
        *(_cpu(host, at, 99.0) for at in outside),
        _cpu(host, pre - MINUTE, 99.0, cpu="cpu0"),  # a core, not the total
        _cpu(other, pre - MINUTE, 99.0), _cpu(other, post + MINUTE, 99.0),
        point("load", host, pre - MINUTE, {"load1": 0.5, "load5": 0.4, "load15": 0.3}),
        point("load", host, post + MINUTE, {"load1": 2.0, "load5": 1.0, "load15": 0.5}),
        point("memory", host, pre - MINUTE, {"used_percent": 40.0, "total_bytes": 8 << 30}),
        point("filesystem", host, pre - MINUTE, {"used_percent": 50.0}, mount="/", fstype="ext4"),
        point("filesystem", host, post + MINUTE, {"used_percent": 56.0}, mount="/", fstype="ext4"),
        point("filesystem", host, pre - MINUTE, {"used_percent": 20.0}, mount="/var/lib/x y"),
    ])  # fmt: skip
    document = health_comparison_dict(health_around(written.store, host, pre, post))
    cpu = _metric(document, "cpu")
    assert cpu["before"] == {"source": "agent", "samples": 3, "mean": 20.0, "p95": 30.0}
    assert cpu["after"] == {"source": "agent", "samples": 3, "mean": 60.0, "p95": 70.0}
    assert cpu["flags"] == [{"rule": "rise", "threshold": 20.0, "value": 40.0}]
    assert [f["rule"] for f in _metric(document, "load1")["flags"]] == ["rise", "ratio"]
    memory = _metric(document, "memory")
    assert memory["before"]["mean"] == 40.0 and memory["after"] is None  # no data, not 0
    assert _metric(document, "mount", "/")["change"] == 6.0
    assert _metric(document, "mount", "/var/lib/x y")["after"] is None
    assert document["status"] == "compared" and document["flagged"] == 3
    assert document["host"] == host


def test_the_agents_real_samples_are_read_back_as_written(written: Written) -> None:
    host = unique("pltest-agent")
    pre, post = recent_pair()
    sampler = Sampler(host=host)
    moments = [pre - 40 * MINUTE, pre - 20 * MINUTE, post + 20 * MINUTE, post + 40 * MINUTE]
    points = [point for at in moments for point in sampler.sample(datetime_ns(at))]
    written.write(points)
    document = health_comparison_dict(health_around(written.store, host, pre, post))

    def expected(at: Sequence[datetime], measurement: str, field: str, **tags: str) -> float:
        stamps = {datetime_ns(moment) for moment in at}
        values = [p.fields[field] for p in points if p.measurement == measurement
                  and p.time_ns in stamps and tags.items() <= p.tags.items()]  # fmt: skip
        return round(statistics.fmean(float(v) for v in values), 2)

    for side, at in (("before", moments[:2]), ("after", moments[2:])):
        assert _metric(document, "cpu")[side]["mean"] == expected(at, "cpu", "usage_percent",
                                                                  cpu="total")  # fmt: skip
        assert _metric(document, "load1")[side]["mean"] == expected(at, "load", "load1")
        assert _metric(document, "memory")[side]["mean"] == expected(at, "memory", "used_percent")
        assert _metric(document, "cpu")[side]["samples"] == 2
    mounts = {p.tags["mount"] for p in points if p.measurement == "filesystem"}
    assert {m["mount"] for m in document["metrics"] if m["metric"] == "mount"} == mounts


def _ssh_health(user: float, idle: float, load1: float, root_used: int) -> dict[str, Any]:
    """What `collect --probe ssh` parses from a server (ssh_health.parse_health's shape)."""
    gib = 1 << 30
    return {
        "cpu": {"total": {"user_seconds": user, "system_seconds": 0.0, "idle_seconds": idle,
                          "iowait_seconds": 0.0},
                "cpu0": {"user_seconds": user / 4, "idle_seconds": idle * 4}},  # a core
        "load": {"load1": load1, "load5": load1, "load15": load1},
        "memory": {"MemTotal": 8 * gib, "MemAvailable": 6 * gib},
        "filesystems": {"/": {"total_bytes": 100 * gib, "used_bytes": root_used * gib,
                              "free_bytes": (100 - root_used) * gib}},
        "net": {}, "uptime_seconds": 1000.0, "processes": 100,
    }  # fmt: skip


def test_a_host_collected_over_ssh_has_its_cpu_from_cumulative_times(written: Written) -> None:
    host = unique("pltest-ssh")
    pre, post = recent_pair()
    samples = [  # (time, user s, idle s, load1, GiB used of 100 on /)
        (pre - 50 * MINUTE, 100.0, 900.0, 0.2, 40),
        (pre - 25 * MINUTE, 130.0, 970.0, 0.2, 40),  # +30 user / +100: 30 %
        (pre, 140.0, 1060.0, 0.4, 40),  # +10 / +100: 10 %
        (post, 5.0, 50.0, 1.0, 60),  # rebooted during the work: a new count
        (post + 30 * MINUTE, 85.0, 70.0, 3.0, 60),  # +80 / +100: 80 %
    ]
    written.write([
        point for at, user, idle, load1, used in samples
        for point in to_points(host, "ssh", ssh_readings(_ssh_health(user, idle, load1, used)),
                               datetime_ns(at))
    ])  # fmt: skip
    document = health_comparison_dict(health_around(written.store, host, pre, post))
    cpu = _metric(document, "cpu")
    assert cpu["before"] == {"source": "ssh", "samples": 2, "mean": 20.0, "p95": 30.0}
    assert cpu["after"] == {"source": "ssh", "samples": 1, "mean": 80.0, "p95": 80.0}
    assert _metric(document, "memory")["before"]["mean"] == 25.0
    assert _metric(document, "mount", "/")["flags"] == [
        {"rule": "rise", "threshold": 5.0, "value": 20.0}]  # fmt: skip


def test_a_host_with_no_series_says_so_and_the_window_is_an_option(written: Written) -> None:
    host = unique("pltest-quiet")
    pre, post = recent_pair()
    written.write([_cpu(host, pre - 2 * HOUR, 10.0), _cpu(host, post + 2 * HOUR - MINUTE, 10.0)])
    quiet = health_comparison_dict(health_around(written.store, host, pre, post))
    assert quiet["status"] == "no series"
    assert all(m["before"] is None and m["after"] is None for m in quiet["metrics"])
    wide = health_comparison_dict(health_around(written.store, host, pre, post, 3 * HOUR))
    assert wide["status"] == "compared" and _metric(wide, "cpu")["after"]["samples"] == 1
    assert wide["before"]["start"] == (pre - 3 * HOUR).isoformat().replace("+00:00", "Z")


def test_snapshots_give_the_windows_and_the_host(written: Written) -> None:
    host = unique("pltest-snap")
    pre, post = recent_pair()
    written.write([_cpu(host, pre - MINUTE, 10.0), _cpu(host, post + MINUTE, 15.0)])

    def snapshot(phase: str, at: datetime) -> Snapshot:
        return Snapshot(host, phase, "2026/041", at, ("ssh",), Facts(Identity(host)))

    found = health_of_snapshots(written.store, snapshot("pre", pre), snapshot("post", post))
    document = health_comparison_dict(found)
    assert (_metric(document, "cpu")["before"]["mean"], _metric(document, "cpu")["change"]) == (
        10.0, 5.0)  # fmt: skip
    assert found.before.end == pre and found.after.start == post


# -- the store cannot be read ----------------------------------------------------------------


def test_a_store_that_is_down_is_reported_as_unreachable_never_as_no_change() -> None:
    port = free_port()  # nothing listens there
    store = VictoriaStore(f"victoriametrics://127.0.0.1:{port}?timeout=2")
    pre, post = recent_pair()
    with pytest.raises(HealthNotCompared) as caught:
        health_around(store, "web01", pre, post)
    message = str(caught.value)
    assert message.startswith(
        f"health not compared: the store at victoriametrics://127.0.0.1:{port}?timeout=2 is "
        "unreachable: "
    )
    assert "\n" not in message and caught.value.exit_code == ExitCode.UNREACHABLE


@pytest.fixture(scope="module")
def locked_vm() -> Iterator[VictoriaMetricsServer]:
    """A VictoriaMetrics that wants a user and password (`-httpAuth.*`)."""
    flags = ["-httpAuth.username=pelihara", "-httpAuth.password=rahasia-health-1"]
    with running_victoriametrics(extra_flags=flags) as server:
        yield server


def test_a_store_that_refuses_the_credentials_says_so_without_the_password(
    locked_vm: VictoriaMetricsServer,
) -> None:
    url = f"victoriametrics://pelihara:salah-sekali@127.0.0.1:{locked_vm.port}?timeout=5"
    pre, post = recent_pair()
    with pytest.raises(HealthNotCompared) as caught:
        health_around(VictoriaStore(url), "web01", pre, post)
    message = str(caught.value)
    shown = f"victoriametrics://pelihara:***@127.0.0.1:{locked_vm.port}?timeout=5"
    assert message.startswith(
        f"health not compared: the store at {shown} refused the credentials: HTTP 401"
    )
    assert "salah-sekali" not in message and caught.value.exit_code == ExitCode.USAGE
    right = f"victoriametrics://pelihara:rahasia-health-1@127.0.0.1:{locked_vm.port}?timeout=5"
    assert not health_around(VictoriaStore(right), "web01", pre, post).has_series


def test_an_embedded_store_that_does_not_exist_is_not_compared_and_not_created(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nowhere" / "timeseries.db"
    with pytest.raises(HealthNotCompared) as caught:
        open_health_store(f"sqlite:///{missing}")
    assert str(caught.value).startswith(f"health not compared: no time-series store at {missing}")
    assert caught.value.exit_code == ExitCode.DATABASE
    assert not missing.parent.exists()
    with pytest.raises(ConfigurationError, match="unknown time-series store 'mysql'"):
        open_health_store("mysql://db")


def test_open_health_store_reads_an_existing_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'timeseries.db'}"
    pre, post = recent_pair()
    SqliteStore(url).write([_cpu("web01", pre - MINUTE, 12.0)])
    store = open_health_store(url)
    try:
        assert _metric(health_comparison_dict(health_around(store, "web01", pre, post)),
                       "cpu")["before"]["mean"] == 12.0  # fmt: skip
    finally:
        store.close()


def test_a_window_of_nothing_is_refused(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'timeseries.db'}")
    pre, post = recent_pair()
    with pytest.raises(ConfigurationError, match="the health window must be longer than 0"):
        health_around(store, "web01", pre, post, timedelta(0))


# -- thresholds from a file ------------------------------------------------------------------


def test_thresholds_from_a_yaml_file_override_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "health.yaml"
    path.write_text("cpu:\n  rise: 50\nmount:\n  ceiling: null\n", encoding="utf-8")
    thresholds = load_thresholds(path)
    assert dict(thresholds["cpu"]) == {"rise": 50.0}
    assert dict(thresholds["mount"]) == {"rise": 5.0}
    assert thresholds["load1"] == DEFAULT_THRESHOLDS["load1"]
    path.write_text("", encoding="utf-8")
    assert load_thresholds(path) == DEFAULT_THRESHOLDS


@pytest.mark.parametrize(
    ("text", "message"),
    [("cpu: [1\n", "not YAML"), ("disk:\n  rise: 1\n", "unknown metric 'disk'"),
     ("cpu:\n  rise: lots\n", "cpu.rise: 'lots' is not a number")],
)  # fmt: skip
def test_a_thresholds_file_of_the_wrong_shape_is_named(tmp_path: Path, text: str,
                                                       message: str) -> None:  # fmt: skip
    path = tmp_path / "health.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_thresholds(path)
    (problem,) = caught.value.problems
    assert str(problem).startswith(f"{path}: ") and message in str(problem)
    assert caught.value.exit_code == ExitCode.INVALID_INPUT  # 3, as a rules or intent file
    with pytest.raises(InputError) as missing:
        load_thresholds(tmp_path / "missing.yaml")
    assert "cannot read" in str(missing.value.problems[0])
