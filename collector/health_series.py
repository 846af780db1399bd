"""A host's health series over a span of time, with their times, for the Berita Acara's charts
(`maintenance.charts`): the same measurements, tags and source preference as the before/after
comparison of `snapshot diff --health` (`collector.health_window`), which keeps only values.

    CPU busy %      `cpu` {cpu=total} usage_percent, else from `cpu_time` {cpu=total}
    memory used %   `memory` used_percent
    disk used %     `filesystem` {mount} used_percent, one series per mount
    load            `load` load1

Of several sources of one metric (the agent, `collect --probe ssh`, SNMP), one is drawn: the
first of `facts.health_window.SOURCES` that has samples, as the comparison prefers them.

A store that is down, refuses, or does not exist raises `HealthNotCompared` (its message says
which), never an empty result: "no series" is only said of a store that answered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pelihara.collector.health_window import DEFAULT_WINDOW, UNKNOWN_SOURCE, not_compared
from pelihara.core.errors import DatabaseError
from pelihara.core.times import as_utc
from pelihara.facts.health_window import (
    CPU,
    LOAD1,
    MEMORY,
    MOUNT,
    SOURCES,
    Metric,
    Window,
    cpu_busy_series,
)
from pelihara.timeseries.base import Point, Query, Store, StoreError

_INCLUSIVE = timedelta(microseconds=1)  # a query's end is exclusive; a span's end is not
Timed = list[tuple[int, float]]  # (time in ns since the epoch, value), by time


@dataclass(frozen=True)
class Series:
    """One metric of one host over time, from one SOURCE: TIMES_NS (UTC, ascending) and VALUES
    side by side."""

    metric: Metric
    source: str
    times_ns: tuple[int, ...]
    values: tuple[float, ...]

    def times(self) -> list[datetime]:
        """The times as aware UTC datetimes (to the microsecond)."""
        return [datetime.fromtimestamp(ns / 1e9, UTC) for ns in self.times_ns]


HealthSeries = Mapping[Metric, Series]  # in `Metric.sort_key` order


@contextmanager
def _reading(url: str) -> Iterator[None]:
    try:
        yield
    except (StoreError, DatabaseError) as error:
        raise not_compared(error, url) from error


def _points(store: Store, measurement: str, host: str, span: Window, **tags: str) -> list[Point]:
    query = Query(measurement, span.start, span.end + _INCLUSIVE, {"host": host, **tags})
    return store.query(query)


def _timed(points: Sequence[Point], field: str) -> dict[str, Timed]:
    """FIELD's numbers with their times, by source (text, booleans and absences left out)."""
    found: dict[str, Timed] = defaultdict(list)
    for point in points:
        value = point.fields.get(field)
        if isinstance(value, int | float) and not isinstance(value, bool):
            found[point.tags.get("source", UNKNOWN_SOURCE)].append((point.time_ns, float(value)))
    return dict(found)


def _busy(points: Sequence[Point]) -> dict[str, Timed]:
    """Busy percents from cumulative `cpu_time` points, by source."""
    by_source: dict[str, list[tuple[int, Mapping[str, float]]]] = defaultdict(list)
    for point in points:
        numbers = {k: float(v) for k, v in point.fields.items() if isinstance(v, int | float)}
        by_source[point.tags.get("source", UNKNOWN_SOURCE)].append((point.time_ns, numbers))
    found = {source: cpu_busy_series(times) for source, times in by_source.items()}
    return {source: timed for source, timed in found.items() if timed}


def _cpu(store: Store, host: str, span: Window) -> dict[str, Timed]:
    derived = _busy(_points(store, "cpu_time", host, span, cpu="total"))
    written = _timed(_points(store, "cpu", host, span, cpu="total"), "usage_percent")
    return {**derived, **written}  # a percent written wins over one derived, per source


def _mounts(store: Store, host: str, span: Window) -> dict[Metric, dict[str, Timed]]:
    by_mount: dict[str, list[Point]] = defaultdict(list)
    for point in _points(store, "filesystem", host, span):
        if "mount" in point.tags:
            by_mount[point.tags["mount"]].append(point)
    return {Metric(MOUNT, mount): _timed(points, "used_percent")
            for mount, points in by_mount.items()}  # fmt: skip


def _preferred(metric: Metric, found: Mapping[str, Timed]) -> Series | None:
    """The series of the first source of `SOURCES` with samples (others by name), or None."""
    ranked = sorted(found, key=lambda s: (SOURCES.index(s) if s in SOURCES else len(SOURCES), s))
    for source in ranked:
        if found[source]:
            timed = sorted(found[source])
            return Series(metric, source, tuple(t for t, _ in timed), tuple(v for _, v in timed))
    return None


def read_health(store: Store, host: str, start: datetime, end: datetime) -> dict[Metric, Series]:
    """HOST's series from START to END (both included), one per metric that has samples, in
    `Metric.sort_key` order; {} when the store holds none. HealthNotCompared when the store
    cannot be read."""
    span = Window(as_utc(start), as_utc(end))
    with _reading(store.url):
        found = {
            Metric(CPU): _cpu(store, host, span),
            Metric(LOAD1): _timed(_points(store, "load", host, span), "load1"),
            Metric(MEMORY): _timed(_points(store, "memory", host, span), "used_percent"),
            **_mounts(store, host, span),
        }
    chosen = {metric: _preferred(metric, by_source) for metric, by_source in found.items()}
    ordered = sorted((m for m, s in chosen.items() if s is not None), key=Metric.sort_key)
    return {metric: series for metric in ordered if (series := chosen[metric]) is not None}


def read_health_around(
    store: Store,
    host: str,
    window_start: datetime,
    window_end: datetime,
    margin: timedelta = DEFAULT_WINDOW,
) -> dict[Metric, Series]:
    """HOST's series from MARGIN before the maintenance window (the pre snapshot's time) to
    MARGIN after it (the post's): the span `snapshot diff --health` compares, and between."""
    return read_health(store, host, as_utc(window_start) - margin, as_utc(window_end) + margin)
