"""Points as InfluxDB line protocol: what a point must be to be written anywhere, and its text.

>>> to_line(Point("cpu", {"host": "web 1"}, {"usage": 42.5, "cores": 4}, 1700000000000000000))
'cpu,host=web\\\\ 1 cores=4i,usage=42.5 1700000000000000000'

Escaping follows InfluxDB's line protocol reference ("Special characters"): the measurement
escapes comma and space; tag keys, tag values and field keys escape comma, equals sign and
space. A backslash is doubled everywhere, so a name ending in a backslash cannot swallow the
separator after it (InfluxDB 2 and VictoriaMetrics read `\\\\` as one backslash;
influxdb-client's own `Point` does not double it). String field values escape the double quote
and the backslash; a newline stays literal inside the quotes (InfluxDB's scanner allows it).
No escape exists for a newline in a name or tag value: such points are refused (`problem`).

The same rules are checked by every backend, the embedded SQLite store included, so a point
that one store takes is never refused by another for its shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

from pelihara.timeseries.base import BadPointsError, FieldValue, Point, Rejected

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# `time` is refused by InfluxDB as a key; names starting with `_` are InfluxDB 2's own columns
# (`_measurement`, `_field`, `_time`, ...) and VictoriaMetrics' (`__name__`); `result` and
# `table` are columns of every row of a Flux CSV answer, so a tag of that name would be lost.
RESERVED_KEYS = frozenset({"time", "result", "table"})

_MEASUREMENT = str.maketrans({"\\": "\\\\", ",": "\\,", " ": "\\ "})
_KEY = str.maketrans({"\\": "\\\\", ",": "\\,", " ": "\\ ", "=": "\\="})
_STRING = str.maketrans({"\\": "\\\\", '"': '\\"'})


# Series repeat from point to point (a host's CPUs, mounts, interfaces): the checks and the
# text of a measurement + tag set are cached, keyed by the sorted tags, and so are field keys.
_CACHE_SIZE = 16384
TagItems = tuple[tuple[object, object], ...]


def _name_problem(kind: str, name: object) -> str | None:
    """Why NAME cannot be a key of kind KIND ("tag key", "field key"), or None."""
    if not isinstance(name, str):
        return f"{kind} {name!r} is not a string"
    if not name:
        return f"{kind} {name!r} is empty"
    if name in RESERVED_KEYS or name.startswith("_"):
        return f"{kind} {name!r} is reserved (time, result, table, or starting with _)"
    if "\n" in name or "\r" in name:
        return f"{kind} {name!r} contains a line break"
    return None


def _tag_problem(key: object, value: object) -> str | None:
    found = _name_problem("tag key", key)
    if found is None and not isinstance(value, str):
        found = f"tag {key!r}: its value is not a string"
    if found is None and not value:
        found = f"tag {key!r} has no value (an empty tag value cannot be written)"
    if found is None and ("\n" in str(value) or "\r" in str(value)):
        found = f"tag {key!r} has a line break in its value"
    return found


def _measurement_problem(measurement: object) -> str | None:
    if not isinstance(measurement, str):
        return f"the measurement {measurement!r} is not a string"
    if not measurement:
        return "the measurement is empty"
    if measurement.startswith("#"):
        return "a measurement starting with # would be read as a comment line"
    if "\n" in measurement or "\r" in measurement:
        return "the measurement contains a line break"
    return None


def _series_problem(measurement: object, tags: TagItems) -> str | None:
    found = _measurement_problem(measurement)
    for key, value in tags:
        found = found or _tag_problem(key, value)
    return found


_cached_series_problem = lru_cache(maxsize=_CACHE_SIZE)(_series_problem)
_cached_field_key_problem = lru_cache(maxsize=_CACHE_SIZE)(_name_problem)


def _value_problem(key: object, value: object) -> str | None:
    if isinstance(value, float):
        return None if math.isfinite(value) else f"field {key!r}: {value} is not finite"
    if isinstance(value, bool | str):
        return None
    if isinstance(value, int):
        return None if INT64_MIN <= value <= INT64_MAX else f"field {key!r}: {value} is not int64"
    return f"field {key!r}: {type(value).__name__} is not float, int, str or bool"


def _fields_problem(tags: Mapping[str, str], fields: Mapping[str, FieldValue]) -> str | None:
    if not fields:
        return "the point has no fields"
    shared = sorted(key for key in tags if key in fields)
    found = f"{shared[0]!r} is both a tag and a field" if shared else None
    for key, value in fields.items():
        try:
            found = found or _cached_field_key_problem("field key", key)
        except TypeError:  # an unhashable key: not a string anyway
            found = found or _name_problem("field key", key)
        found = found or _value_problem(key, value)
    return found


def _time_problem(time_ns: object) -> str | None:
    if isinstance(time_ns, bool) or not isinstance(time_ns, int):
        return f"time_ns {time_ns!r} is not an integer"
    return None if INT64_MIN <= time_ns <= INT64_MAX else f"time_ns {time_ns} is not int64"


def problem(point: Point) -> str | None:
    """Why POINT cannot be written to any store, or None if it can."""
    try:
        found = _cached_series_problem(point.measurement, tuple(sorted(point.tags.items())))
    except TypeError:  # tags that cannot be sorted or hashed: not all strings
        found = _series_problem(point.measurement, tuple(point.tags.items()))
    found = found or _time_problem(point.time_ns)
    return found or _fields_problem(point.tags, point.fields)


@lru_cache(maxsize=_CACHE_SIZE)
def _series_text(measurement: str, tags: tuple[tuple[str, str], ...]) -> str:
    escaped = "".join(f",{key.translate(_KEY)}={value.translate(_KEY)}" for key, value in tags)
    return measurement.translate(_MEASUREMENT) + escaped


@lru_cache(maxsize=_CACHE_SIZE)
def _field_key_text(key: str) -> str:
    return key.translate(_KEY) + "="


def field_text(value: FieldValue) -> str:
    """A field value as line protocol: `true`, `42i`, `42.5`, `"text"`."""
    if type(value) is float:
        return repr(value)  # the shortest text that reads back as the same float
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(float(value))
    return '"' + value.translate(_STRING) + '"'


def to_line(point: Point) -> str:
    """POINT as one line of line protocol (tags and fields sorted by key), without newline.

    POINT must have no `problem`.
    """
    series = _series_text(point.measurement, tuple(sorted(point.tags.items())))
    fields = ",".join(
        [_field_key_text(key) + field_text(value) for key, value in sorted(point.fields.items())]
    )
    return f"{series} {fields} {point.time_ns}"


def to_lines(points: Sequence[Point]) -> bytes:
    """POINTS as a UTF-8 line-protocol body, one line each."""
    return "".join(to_line(point) + "\n" for point in points).encode("utf-8")


def write_checked(
    points: Sequence[Point],
    send: Callable[[Sequence[Point]], None],
    check: Callable[[Point], str | None] = problem,
) -> None:
    """SEND the points CHECK finds nothing wrong with, then refuse the others.

    The good points are written before BadPointsError names the bad ones, so a caller that
    only sets the refused points aside loses nothing (and one that re-sends the rest writes
    them again, which every store takes as the same points).
    """
    good: list[Point] = []
    rejected: list[Rejected] = []
    for point in points:
        reason = check(point)
        if reason is None:
            good.append(point)
        else:
            rejected.append(Rejected(point, reason))
    if good:
        send(good)
    if rejected:
        raise BadPointsError(rejected)
