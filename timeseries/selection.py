"""What a query selects, in the terms every backend shares: nanoseconds and a tag subset.

>>> start = datetime(2024, 1, 1, tzinfo=UTC)
>>> window_ns(Query("cpu", start, start + timedelta(minutes=1)))
(1704067200000000000, 1704067260000000000)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from pelihara.timeseries.base import Point, Query

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def datetime_ns(moment: datetime) -> int:
    """MOMENT in nanoseconds since the epoch, exactly; a naive datetime is taken as UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return (aware - EPOCH) // _MICROSECOND * 1000


def rfc3339_ns(time_ns: int) -> str:
    """TIME_NS as RFC 3339 with nine decimals: `2024-01-01T00:00:00.000000001Z`."""
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    whole = EPOCH + timedelta(seconds=seconds)
    return f"{whole:%Y-%m-%dT%H:%M:%S}.{nanos:09d}Z"


def window_ns(query: Query) -> tuple[int, int]:
    """The query's [start, end) in nanoseconds since the epoch."""
    return datetime_ns(query.start), datetime_ns(query.end)


def has_tags(point: Point, tags: Mapping[str, str]) -> bool:
    """True if POINT carries every tag of TAGS with the same value."""
    return all(point.tags.get(key) == value for key, value in tags.items())


def by_time(points: Iterable[Point]) -> list[Point]:
    """POINTS sorted by time, then by series (the same order from every backend)."""
    return sorted(points, key=lambda point: (point.time_ns, point.series_key()))


def selected(points: Iterable[Point], query: Query) -> list[Point]:
    """The points of QUERY's measurement, window and tags, by time."""
    start, end = window_ns(query)
    return by_time(
        point
        for point in points
        if point.measurement == query.measurement
        and start <= point.time_ns < end
        and has_tags(point, query.tags)
    )
