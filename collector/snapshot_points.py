"""A snapshot's numbers as time-series points, at the snapshot's time, beside the health series.

Tagged by host, phase and ticket (bounded values: a ticket names few hosts); mounts and
disks by their path and device name. Package names, serials and versions stay out of the
tags (every tag value is a new series): only their counts go to the store.

    snapshot_host   load1, memory_used_bytes, packages, services_running, listening_ports,
                    interfaces_up, boot_time, cpu_user_seconds, ...
    snapshot_mount  {mount}: total_bytes, used_bytes, used_percent
    snapshot_disk   {disk}: size_bytes, used_bytes (its mounts' use)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from pelihara.facts.model import Facts
from pelihara.facts.snapshot import CPU_STATES, HealthSample, Snapshot
from pelihara.timeseries.base import FieldValue, Point

Fields = dict[str, FieldValue]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# No measurement's name begins with another's and `_`: VictoriaMetrics names a series
# MEASUREMENT_FIELD, and a reader of `snapshot` would take `snapshot_mount_*` for its own.
HOST, MOUNT, DISK = "snapshot_host", "snapshot_mount", "snapshot_disk"


def snapshot_points(snapshot: Snapshot) -> list[Point]:
    """Every point of SNAPSHOT, all at its `taken_at`."""
    tags = {"host": snapshot.host, "phase": snapshot.phase}
    if snapshot.ticket:
        tags["ticket"] = snapshot.ticket
    stamp = (snapshot.taken_at - EPOCH) // timedelta(microseconds=1) * 1000
    main = {**_fact_counts(snapshot.facts), **_health_fields(snapshot.health)}
    points = [Point(HOST, tags, main, stamp)] if main else []
    for measurement, extra, fields in (*_mounts(snapshot), *_disks(snapshot.facts)):
        points.append(Point(measurement, {**tags, **extra}, fields, stamp))
    return points


def _fact_counts(facts: Facts) -> Fields:
    """Counts of what the facts list, and boot time; a list not read gives no field."""
    fields: Fields = {}
    counted = {
        "packages": facts.packages,
        "listening_ports": facts.listening_ports,
        "disks": facts.disks,
    }
    for name, items in counted.items():
        if items is not None:
            fields[name] = len(items)
    if facts.services is not None:
        fields["services_running"] = sum(s.state.endswith("running") for s in facts.services)
    if facts.interfaces is not None:
        fields["interfaces_up"] = sum(i.is_up is True for i in facts.interfaces)
    if facts.identity.boot_time is not None:
        fields["boot_time"] = int(facts.identity.boot_time.timestamp())
    if facts.memory_total_bytes is not None:
        fields["memory_total_bytes"] = facts.memory_total_bytes
    if facts.cpu.threads is not None:
        fields["cpu_threads"] = facts.cpu.threads
    return fields


def _health_fields(health: HealthSample | None) -> Fields:
    if health is None:
        return {}
    fields: Fields = {}
    for name in ("load1", "load5", "load15", "uptime_seconds", "processes",
                 "memory_available_bytes", "swap_total_bytes", "swap_free_bytes"):  # fmt: skip
        value = getattr(health, name)
        if value is not None:
            fields[name] = value
    total, available = health.memory_total_bytes, health.memory_available_bytes
    if total and available is not None:
        fields["memory_used_bytes"] = total - available
        fields["memory_used_percent"] = round(100.0 * (total - available) / total, 2)
    for state in CPU_STATES if health.cpu else ():
        seconds = getattr(health.cpu, f"{state}_seconds")
        if seconds is not None:
            fields[f"cpu_{state}_seconds"] = seconds
    return fields


def _usage(total: int, used: int) -> Fields:
    percent = round(100.0 * used / total, 2) if total else 0.0
    return {"total_bytes": total, "used_bytes": used, "used_percent": percent}


def _mounts(snapshot: Snapshot) -> Iterator[tuple[str, dict[str, str], Fields]]:
    """Each mount's use: the health sample's (df), else the facts' mounts with a size."""
    if snapshot.health is not None and snapshot.health.filesystems is not None:
        for usage in snapshot.health.filesystems:
            yield MOUNT, {"mount": usage.mount}, _usage(usage.total_bytes, usage.used_bytes)
        return
    for disk in snapshot.facts.disks or ():
        for mount in disk.mounts or ():
            if mount.total_bytes is not None and mount.used_bytes is not None:
                yield MOUNT, {"mount": mount.path}, _usage(mount.total_bytes, mount.used_bytes)


def _disks(facts: Facts) -> Iterator[tuple[str, dict[str, str], Fields]]:
    """Each disk's size and the use of its mounts (by device name: never its serial)."""
    for disk in facts.disks or ():
        fields: Fields = {}
        if disk.size_bytes is not None:
            fields["size_bytes"] = disk.size_bytes
        used = [m.used_bytes for m in disk.mounts or () if m.used_bytes is not None]
        if used:
            fields["used_bytes"] = sum(used)
        if fields:
            yield DISK, {"disk": disk.name}, fields
