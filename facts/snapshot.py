"""A snapshot: one server's whole state at one moment, as stored, hashed, diffed and reported.

SOP step 7 captures each server before (`pre`) and after (`post`) a maintenance. A snapshot
holds the full facts, the SNMP and DNS views where those probes were asked (null where
not), one health sample, and what it was taken for. Its canonical JSON (the ONE encoder of
`pelihara.core.canonical`) is what the database keeps, and its SHA-256 what the audit log,
the diff and the Berita Acara cite; `pelihara snapshot show ID --format json` prints those
bytes as stored.

>>> print(snapshot_json(snapshot))                      # doctest: +SKIP
{"dns":null,"facts":{...},"health":{"cpu":{...},"filesystems":[...],"load1":0.12,...},
 "host":"web01","phase":"pre","probes":["ssh"],"snapshot_schema":1,"snmp":null,
 "taken_at":"2026-12-04T01:30:00Z","ticket":"2026/041"}

Pure: no I/O; the collector captures and stores, the diff and the report only read.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pelihara.core.canonical import canonical_json, sha256_hex, utc_text
from pelihara.facts.model import Facts, FactsFormatError, facts_from_dict, facts_to_dict

SNAPSHOT_SCHEMA = 1
PHASES = ("pre", "post", "adhoc")
# /proc/stat's `cpu` line, in its order (what the SSH health script and psutil both give).
CPU_STATES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
FLOAT_FIELDS = ("load1", "load5", "load15", "uptime_seconds")  # of `HealthSample`
INT_FIELDS = ("memory_total_bytes", "memory_available_bytes", "swap_total_bytes",
              "swap_free_bytes", "processes")  # fmt: skip


class SnapshotFormatError(FactsFormatError):
    """A stored snapshot that does not fit this model (a newer schema, a wrong field)."""


@dataclass(frozen=True)
class CpuTimes:
    """Seconds every CPU spent in each state since boot (cumulative: a rate needs two)."""

    user_seconds: float | None = None
    nice_seconds: float | None = None
    system_seconds: float | None = None
    idle_seconds: float | None = None
    iowait_seconds: float | None = None
    irq_seconds: float | None = None
    softirq_seconds: float | None = None
    steal_seconds: float | None = None


@dataclass(frozen=True)
class FilesystemUsage:
    """A mounted filesystem's size and use, as `df -B1` shows it (pseudo filesystems left out)."""

    mount: str
    total_bytes: int
    used_bytes: int
    free_bytes: int


@dataclass(frozen=True)
class HealthSample:
    """One health sample, read with the facts: the agent's and `collect`'s names and units."""

    load1: float | None = None
    load5: float | None = None
    load15: float | None = None
    cpu: CpuTimes | None = None
    memory_total_bytes: int | None = None
    memory_available_bytes: int | None = None
    swap_total_bytes: int | None = None
    swap_free_bytes: int | None = None
    filesystems: tuple[FilesystemUsage, ...] | None = None
    uptime_seconds: float | None = None
    processes: int | None = None


@dataclass(frozen=True)
class ProbeView:
    """What one more probe (SNMP, DNS) saw, as verify reads it: its status, its error, and
    its JSON-ready data (`{}` when it failed)."""

    status: str
    error: str | None = None
    data: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Snapshot:
    """HOST (its inventory hostname at capture) at TAKEN_AT, for PHASE of TICKET."""

    host: str
    phase: str
    ticket: str | None
    taken_at: datetime
    probes: tuple[str, ...]
    facts: Facts
    health: HealthSample | None = None
    snmp: ProbeView | None = None
    dns: ProbeView | None = None
    snapshot_schema: int = SNAPSHOT_SCHEMA


def snapshot_to_dict(snapshot: Snapshot) -> dict[str, Any]:
    """The snapshot as plain JSON-ready data (what is stored, once encoded)."""
    return {
        "snapshot_schema": snapshot.snapshot_schema,
        "host": snapshot.host,
        "phase": snapshot.phase,
        "ticket": snapshot.ticket,
        "taken_at": utc_text(snapshot.taken_at),
        "probes": list(snapshot.probes),
        "facts": facts_to_dict(snapshot.facts),
        "health": _health_dict(snapshot.health),
        "snmp": _view_dict(snapshot.snmp),
        "dns": _view_dict(snapshot.dns),
    }


def _health_dict(health: HealthSample | None) -> dict[str, Any] | None:
    """The sample as plain data: its filesystems a list, as JSON gives them back."""
    if health is None:
        return None
    plain = dataclasses.asdict(health)
    if health.filesystems is not None:
        plain["filesystems"] = list(plain["filesystems"])
    return plain


def _view_dict(view: ProbeView | None) -> dict[str, Any] | None:
    if view is None:
        return None
    return {"status": view.status, "error": view.error, "data": dict(view.data)}


def snapshot_json(snapshot: Snapshot) -> str:
    """The canonical JSON text: what the database keeps, byte for byte."""
    return canonical_json(snapshot_to_dict(snapshot))


def snapshot_sha256(snapshot: Snapshot) -> str:
    """SHA-256 of the canonical JSON (64 hex digits): what the audit log and reports cite."""
    return sha256_hex(snapshot_to_dict(snapshot))


def snapshot_from_json(text: str) -> Snapshot:
    """A snapshot from its stored text."""
    try:
        return snapshot_from_dict(json.loads(text))
    except json.JSONDecodeError as exc:
        raise SnapshotFormatError(f"snapshot is not JSON: {exc}") from None


def snapshot_from_dict(data: Any) -> Snapshot:
    """A snapshot from its JSON form: every schema this pelihara knows; a newer one refused,
    naming both versions. The facts inside are read (and upgraded) by `facts_from_dict`."""
    if not isinstance(data, dict):
        raise SnapshotFormatError("snapshot: expected an object")
    version = data.get("snapshot_schema")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SnapshotFormatError(f"snapshot: no snapshot_schema version ({version!r})")
    if version > SNAPSHOT_SCHEMA:
        raise SnapshotFormatError(
            f"snapshot schema {version} is newer than this pelihara reads "
            f"({SNAPSHOT_SCHEMA}): upgrade pelihara to read it"
        )
    return Snapshot(
        host=_text(data, "host", "snapshot"),
        phase=_phase(data),
        ticket=_optional_text(data, "ticket", "snapshot"),
        taken_at=_time(data.get("taken_at")),
        probes=tuple(_texts(data.get("probes"), "snapshot.probes")),
        facts=facts_from_dict(data.get("facts")),
        health=health_from_dict(data["health"]) if data.get("health") is not None else None,
        snmp=_view(data.get("snmp"), "snapshot.snmp"),
        dns=_view(data.get("dns"), "snapshot.dns"),
        snapshot_schema=version,
    )


def _phase(data: Mapping[str, Any]) -> str:
    phase = _text(data, "phase", "snapshot")
    if phase not in PHASES:
        raise SnapshotFormatError(f"snapshot.phase: {phase!r}, expected one of {PHASES}")
    return phase


def _text(data: Mapping[str, Any], name: str, where: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise SnapshotFormatError(f"{where}.{name}: expected text")
    return value


def _optional_text(data: Mapping[str, Any], name: str, where: str) -> str | None:
    return None if data.get(name) is None else _text(data, name, where)


def _texts(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SnapshotFormatError(f"{where}: expected a list of text")
    return value


def _time(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise SnapshotFormatError("snapshot.taken_at: not an ISO-8601 time") from None
    if moment.tzinfo is None:
        raise SnapshotFormatError("snapshot.taken_at: no time zone (UTC expected)")
    return moment


def _view(value: Any, where: str) -> ProbeView | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("data", {}), dict):
        raise SnapshotFormatError(f"{where}: expected an object with a data object")
    return ProbeView(_text(value, "status", where), _optional_text(value, "error", where),
                     value.get("data", {}))  # fmt: skip


def _number(data: Mapping[str, Any], name: str, kind: type, where: str) -> Any:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SnapshotFormatError(f"{where}.{name}: expected a number")
    if kind is int and not isinstance(value, int):
        raise SnapshotFormatError(f"{where}.{name}: expected a whole number")
    return value


def health_from_dict(data: Any) -> HealthSample:
    """A health sample from its JSON form (numbers as stored: the text is what was hashed)."""
    if not isinstance(data, dict):
        raise SnapshotFormatError("snapshot.health: expected an object")
    where = "snapshot.health"
    values = {**{name: _number(data, name, float, where) for name in FLOAT_FIELDS},
              **{name: _number(data, name, int, where) for name in INT_FIELDS}}  # fmt: skip
    return HealthSample(**values, cpu=_cpu(data.get("cpu")),
                        filesystems=_filesystems(data.get("filesystems")))  # fmt: skip


def _cpu(data: Any) -> CpuTimes | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise SnapshotFormatError("snapshot.health.cpu: expected an object")
    where = "snapshot.health.cpu"
    return CpuTimes(**{f"{s}_seconds": _number(data, f"{s}_seconds", float, where)
                       for s in CPU_STATES})  # fmt: skip


def _filesystems(data: Any) -> tuple[FilesystemUsage, ...] | None:
    if data is None:
        return None
    if not isinstance(data, list):
        raise SnapshotFormatError("snapshot.health.filesystems: expected a list")
    found = []
    for index, row in enumerate(data):
        where = f"snapshot.health.filesystems[{index}]"
        if not isinstance(row, dict):
            raise SnapshotFormatError(f"{where}: expected an object")
        sizes = [_number(row, n, int, where) for n in ("total_bytes", "used_bytes", "free_bytes")]
        if None in sizes:
            raise SnapshotFormatError(f"{where}: total_bytes, used_bytes and free_bytes needed")
        found.append(FilesystemUsage(_text(row, "mount", where), *sizes))
    return tuple(found)


def health_from_readings(parsed: Mapping[str, Any]) -> HealthSample:
    """A sample from the SSH health script's parsed output (`parse_health`'s shape; the
    local probe builds the same shape from psutil), so both paths give one type."""
    load = parsed.get("load") or {}
    memory = parsed.get("memory") or {}
    total = (parsed.get("cpu") or {}).get("total")
    filesystems = parsed.get("filesystems")
    return HealthSample(
        load1=load.get("load1"), load5=load.get("load5"), load15=load.get("load15"),
        cpu=CpuTimes(**{f"{s}_seconds": total.get(f"{s}_seconds") for s in CPU_STATES})
        if total else None,
        memory_total_bytes=memory.get("MemTotal"),
        memory_available_bytes=memory.get("MemAvailable"),
        swap_total_bytes=memory.get("SwapTotal"), swap_free_bytes=memory.get("SwapFree"),
        filesystems=None if filesystems is None else tuple(
            FilesystemUsage(mount, v["total_bytes"], v["used_bytes"], v["free_bytes"])
            for mount, v in sorted(filesystems.items())),
        uptime_seconds=parsed.get("uptime_seconds"), processes=parsed.get("processes"),
    )  # fmt: skip
