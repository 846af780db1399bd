"""The measurements pelihara writes (the agent's and `collect`'s), their fields in reading
order and each field's kind, and the tag order of a table.

Reading back, a store gives its own types: VictoriaMetrics every number as a float, the
embedded store and InfluxDB what was written. `typed` makes them one: a counter or a size
comes back as an integer from every backend.

>>> field_order("load", ["load15", "load1", "load5"])
['load1', 'load5', 'load15']
>>> typed(Point("memory", {"host": "a"}, {"total_bytes": 8.0e9, "used_percent": 12.0}, 0)).fields
{'total_bytes': 8000000000, 'used_percent': 12.0}
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pelihara.timeseries.base import FieldValue, Point

INTEGER, BYTES, NUMBER = "integer", "bytes", "number"
_COUNTERS = ("packets_sent", "packets_recv", "errors_in", "errors_out", "drops_in", "drops_out")
_CPU_TIME = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
_SPACE = {"total_bytes": BYTES, "available_bytes": BYTES, "used_bytes": BYTES,
          "free_bytes": BYTES, "used_percent": NUMBER}  # fmt: skip

# Fields by measurement, in the order a person reads them.
_DISK_IO = {"read_bytes": BYTES, "write_bytes": BYTES, "reads": INTEGER, "writes": INTEGER,
            "busy_ms": INTEGER}  # fmt: skip
_SYSTEM = {"processes": INTEGER, "uptime_seconds": NUMBER, "boot_time": INTEGER,
           "agent_uptime_seconds": NUMBER}  # fmt: skip

# Fields by measurement, in the order a person reads them.
MEASUREMENTS: dict[str, dict[str, str]] = {
    "cpu": {"usage_percent": NUMBER},
    "cpu_time": {f"{name}_seconds": NUMBER for name in _CPU_TIME},
    "load": {"load1": NUMBER, "load5": NUMBER, "load15": NUMBER},
    "memory": _SPACE,
    "swap": _SPACE,
    "filesystem": _SPACE,
    "diskio": _DISK_IO,
    "net": {"bytes_recv": BYTES, "bytes_sent": BYTES, **dict.fromkeys(_COUNTERS, INTEGER)},
    "system": _SYSTEM,
}
TAGS = ("host", "source", "cpu", "disk", "interface", "mount", "fstype")


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sorts `load15` after `load5`, `cpu10` after `cpu9`."""
    parts = re.split(r"(\d+)", name)
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in parts if part)


def field_order(measurement: str, names: Iterable[str]) -> list[str]:
    """NAMES as a table shows them: the measurement's own order, then the others naturally."""
    known = list(MEASUREMENTS.get(measurement, {}))
    present = set(names)
    rest = sorted(present - set(known), key=natural_key)
    return [name for name in known if name in present] + rest


def tag_order(names: Iterable[str]) -> list[str]:
    """Tag NAMES: host, source, then what the series is of (cpu, disk, ...), then the others."""
    present = set(names)
    return [t for t in TAGS if t in present] + sorted(present - set(TAGS), key=natural_key)


def kind(measurement: str, field: str) -> str | None:
    """INTEGER, BYTES or NUMBER for a field pelihara writes; None for another's."""
    return MEASUREMENTS.get(measurement, {}).get(field)


def typed(point: Point) -> Point:
    """POINT with its counters and sizes as integers, as they were written."""
    fields = {name: _typed(point.measurement, name, value) for name, value in point.fields.items()}
    return Point(point.measurement, point.tags, fields, point.time_ns)


def _typed(measurement: str, name: str, value: FieldValue) -> FieldValue:
    whole = kind(measurement, name) in (INTEGER, BYTES)
    return int(value) if whole and isinstance(value, float) and value.is_integer() else value
