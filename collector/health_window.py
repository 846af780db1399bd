"""Health around a maintenance, read from the time-series store: each host's series in a
window before its `pre` snapshot and after its `post` one, compared by
`pelihara.facts.health_window` (pure).

    before: [pre.taken_at - window, pre.taken_at]     after: [post.taken_at, post.taken_at + window]

What is read (the agent's and `collect`'s names, `timeseries.measurements`), tagged `host`:
`cpu` {cpu=total} usage_percent (agent, SNMP), `cpu_time` {cpu=total} (`collect --probe ssh`:
cumulative seconds, turned into busy percents between samples), `load` load1, `memory`
used_percent, `filesystem` {mount} used_percent. Each point's `source` tag says who wrote it.

A store that is down, refuses, or does not exist raises `HealthNotCompared`, whose message
says so: a comparison that could not be made is never reported as "no change".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from pelihara.core.errors import (
    ConfigurationError,
    DatabaseError,
    ExitCode,
    InputError,
    PeliharaError,
    Problem,
)
from pelihara.core.times import as_utc
from pelihara.facts.health_window import (
    CPU,
    DEFAULT_THRESHOLDS,
    LOAD1,
    MEMORY,
    MOUNT,
    HealthThresholdsError,
    HostHealthComparison,
    Metric,
    Samples,
    Thresholds,
    Window,
    compare_health,
    cpu_busy_percents,
    thresholds_from_dict,
)
from pelihara.facts.snapshot import Snapshot
from pelihara.timeseries import open_store
from pelihara.timeseries.base import (
    Point,
    Query,
    Store,
    StoreAuthError,
    StoreError,
    StoreUnavailable,
)

DEFAULT_WINDOW = timedelta(hours=1)
_INCLUSIVE = timedelta(microseconds=1)  # a query's end is exclusive; a window's end is not
UNKNOWN_SOURCE = "unknown"  # a point without a `source` tag (written by another tool)


class HealthNotCompared(PeliharaError):
    """Health could not be read from the store at URL; the message says why, in one line."""

    def __init__(self, url: str, reason: str, exit_code: ExitCode = ExitCode.UNREACHABLE) -> None:
        self.url = url
        self.reason = reason
        self.exit_code = exit_code
        super().__init__(f"health not compared: {reason}")


def _detail(error: Exception, url: str) -> str:
    """The store's own message without the URL it starts with (the message names it once)."""
    text = str(error)
    return text[len(url) + 2 :] if text.startswith(f"{url}: ") else text


def not_compared(error: StoreError | DatabaseError, url: str) -> HealthNotCompared:
    """ERROR of the store at URL as the reason health was not compared."""
    detail = _detail(error, url)
    if isinstance(error, StoreUnavailable):
        return HealthNotCompared(url, f"the store at {url} is unreachable: {detail}")
    if isinstance(error, StoreAuthError):
        reason = f"the store at {url} refused the credentials: {detail}"
        return HealthNotCompared(url, reason, ExitCode.USAGE)
    if isinstance(error, DatabaseError):  # the embedded store's file does not exist
        return HealthNotCompared(url, detail, ExitCode.DATABASE)
    return HealthNotCompared(url, f"the store at {url} refused the query: {detail}")


@contextmanager
def _reading(url: str) -> Iterator[None]:
    try:
        yield
    except (StoreError, DatabaseError) as error:
        raise not_compared(error, url) from error


def open_health_store(url: str | None) -> Store:
    """The store at URL (default: the embedded one), opened to read; one that cannot be
    opened raises HealthNotCompared (a wrong URL stays a ConfigurationError)."""
    with _reading(url or "the embedded store"):
        return open_store(url, read_only=True)


def windows_around(
    before_end: datetime, after_start: datetime, window: timedelta
) -> tuple[Window, Window]:
    """The before window ending at BEFORE_END and the after window starting at AFTER_START."""
    if window <= timedelta(0):
        raise ConfigurationError(f"the health window must be longer than 0 (got {window})")
    end, start = as_utc(before_end), as_utc(after_start)
    return Window(end - window, end), Window(start, start + window)


def _points(store: Store, measurement: str, host: str, window: Window, **tags: str) -> list[Point]:
    query = Query(measurement, window.start, window.end + _INCLUSIVE, {"host": host, **tags})
    return store.query(query)


def _source(point: Point) -> str:
    return point.tags.get("source", UNKNOWN_SOURCE)


def _values(points: Sequence[Point], field: str) -> dict[str, list[float]]:
    """FIELD's numbers by source (a point without it, or with text in it, is left out)."""
    found: dict[str, list[float]] = defaultdict(list)
    for point in points:
        value = point.fields.get(field)
        if isinstance(value, int | float) and not isinstance(value, bool):
            found[_source(point)].append(float(value))
    return dict(found)


def _busy_from_times(points: Sequence[Point]) -> dict[str, list[float]]:
    """Busy percents by source from cumulative `cpu_time` points (two samples make one)."""
    by_source: dict[str, list[tuple[int, Mapping[str, float]]]] = defaultdict(list)
    for point in points:
        numbers = {k: float(v) for k, v in point.fields.items() if isinstance(v, int | float)}
        by_source[_source(point)].append((point.time_ns, numbers))
    found = {source: cpu_busy_percents(times) for source, times in by_source.items()}
    return {source: values for source, values in found.items() if values}


def _cpu(store: Store, host: str, window: Window) -> dict[str, list[float]]:
    """CPU busy percents by source: the percent written, else one from CPU times."""
    derived = _busy_from_times(_points(store, "cpu_time", host, window, cpu="total"))
    written = _values(_points(store, "cpu", host, window, cpu="total"), "usage_percent")
    return {**derived, **written}


def _mounts(store: Store, host: str, window: Window) -> dict[Metric, dict[str, list[float]]]:
    by_mount: dict[str, list[Point]] = defaultdict(list)
    for point in _points(store, "filesystem", host, window):
        if "mount" in point.tags:
            by_mount[point.tags["mount"]].append(point)
    found = {
        Metric(MOUNT, mount): _values(points, "used_percent") for mount, points in by_mount.items()
    }
    return {metric: values for metric, values in found.items() if values}


def read_side(store: Store, host: str, window: Window) -> Samples:
    """HOST's samples in WINDOW, by metric and source, as `compare_health` takes them."""
    return {
        Metric(CPU): _cpu(store, host, window),
        Metric(LOAD1): _values(_points(store, "load", host, window), "load1"),
        Metric(MEMORY): _values(_points(store, "memory", host, window), "used_percent"),
        **_mounts(store, host, window),
    }


def health_around(
    store: Store,
    host: str,
    before_end: datetime,
    after_start: datetime,
    window: timedelta = DEFAULT_WINDOW,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> HostHealthComparison:
    """HOST's health in WINDOW before BEFORE_END (the pre snapshot's time) against WINDOW after
    AFTER_START (the post's); HealthNotCompared when the store cannot be read."""
    windows = windows_around(before_end, after_start, window)
    with _reading(store.url):
        before, after = (read_side(store, host, side) for side in windows)
        return compare_health(host, windows, before, after, thresholds)


def health_of_snapshots(
    store: Store,
    pre: Snapshot,
    post: Snapshot,
    window: timedelta = DEFAULT_WINDOW,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> HostHealthComparison:
    """`health_around` for a pair of snapshots of one host: the series of the name the post
    snapshot was taken under (the host tag the agent and `collect` write)."""
    return health_around(store, post.host, pre.taken_at, post.taken_at, window, thresholds)


def load_thresholds(path: Path, base: Thresholds = DEFAULT_THRESHOLDS) -> Thresholds:
    """The thresholds of the YAML file PATH put over BASE (`facts.health_window` documents the
    shape); a file that cannot be read or has the wrong shape is refused as an input file, as
    the diff's rules and intents files are (exit 3), naming it."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        return thresholds_from_dict(data if data is not None else {}, base)
    except OSError as error:
        message = f"cannot read: {error.strerror or error}"
    except yaml.YAMLError as error:
        message = f"not YAML: {error}"
    except HealthThresholdsError as error:
        message = str(error)
    raise InputError([Problem(str(path), 0, "", message)], "nothing was read or stored")
