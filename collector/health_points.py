"""Health observations (SNMP tables, the SSH health script) as time-series points.

Measurement and field names are the agent's (`agent/health.py`), so a host's series line up
whichever way they were collected; the `source` tag says which.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pelihara.timeseries.base import FieldValue, Point

Reading = tuple[str, dict[str, str], dict[str, FieldValue]]


def _percent(used: int, total: int) -> float:
    return round(100.0 * used / total, 2) if total else 0.0


def _snmp_cpu(data: dict[str, Any]) -> Iterator[Reading]:
    loads = [float(row["load_percent"]) for row in data.get("processors", [])
             if row.get("load_percent") is not None]  # fmt: skip
    if loads:
        yield "cpu", {"cpu": "total"}, {"usage_percent": round(sum(loads) / len(loads), 2)}
    for row in data.get("processors", []):
        if row.get("load_percent") is not None:
            usage = float(row["load_percent"])
            yield "cpu", {"cpu": f"cpu{row['index']}"}, {"usage_percent": usage}


def _snmp_storage(data: dict[str, Any]) -> Iterator[Reading]:
    for row in data.get("storage", []):
        total, used = row.get("size_bytes"), row.get("used_bytes")
        if total is None or used is None:
            continue
        values: dict[str, FieldValue] = {"total_bytes": total, "used_bytes": used,
                                         "used_percent": _percent(used, total)}  # fmt: skip
        if row["type"] == "ram" and row.get("description") == "Physical memory":
            yield "memory", {}, values
        elif row["type"] == "virtualMemory" and row.get("description") == "Swap space":
            yield "swap", {}, values
        elif row["type"] == "fixedDisk":
            values["free_bytes"] = total - used
            yield "filesystem", {"mount": str(row["description"])}, values


def _snmp_traffic(data: dict[str, Any]) -> Iterator[Reading]:
    names = {
        "in_octets": "bytes_recv",
        "out_octets": "bytes_sent",
        "in_errors": "errors_in",
        "out_errors": "errors_out",
        "in_discards": "drops_in",
        "out_discards": "drops_out",
    }
    for row in data.get("traffic", []):
        fields = {new: row[old] for old, new in names.items() if row.get(old) is not None}
        if fields and row.get("name"):
            yield "net", {"interface": str(row["name"])}, fields


def snmp_readings(data: dict[str, Any]) -> Iterator[Reading]:
    yield from _snmp_cpu(data)
    yield from _snmp_storage(data)
    yield from _snmp_traffic(data)
    if data.get("uptime_seconds") is not None:  # sysUpTime: the agent's, not the host's
        yield "system", {}, {"agent_uptime_seconds": float(data["uptime_seconds"])}


def _ssh_memory(memory: dict[str, int]) -> Iterator[Reading]:
    if "MemTotal" in memory and "MemAvailable" in memory:
        total, available = memory["MemTotal"], memory["MemAvailable"]
        yield "memory", {}, {"total_bytes": total, "available_bytes": available,
                             "used_bytes": total - available,
                             "used_percent": _percent(total - available, total)}  # fmt: skip
    if "SwapTotal" in memory and "SwapFree" in memory:
        total, used = memory["SwapTotal"], memory["SwapTotal"] - memory["SwapFree"]
        yield "swap", {}, {"total_bytes": total, "used_bytes": used,
                           "used_percent": _percent(used, total)}  # fmt: skip


def ssh_readings(health: dict[str, Any]) -> Iterator[Reading]:
    for cpu, seconds in health["cpu"].items():
        yield "cpu_time", {"cpu": cpu}, dict(seconds)
    if health.get("load"):
        yield "load", {}, dict(health["load"])
    yield from _ssh_memory(health["memory"])
    for mount, values in health["filesystems"].items():
        used_percent = _percent(values["used_bytes"], values["used_bytes"] + values["free_bytes"])
        yield "filesystem", {"mount": mount}, {**values, "used_percent": used_percent}
    for interface, counters in health["net"].items():
        yield "net", {"interface": interface}, dict(counters)
    system = {k: health[k] for k in ("uptime_seconds", "processes") if health.get(k) is not None}
    if system:
        yield "system", {}, system


def to_points(host: str, source: str, readings: Iterator[Reading], time_ns: int) -> list[Point]:
    base = {"host": host, "source": source}
    return [Point(m, {**base, **tags}, fields, time_ns) for m, tags, fields in readings]
