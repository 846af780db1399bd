"""Health samples of this machine (psutil), as time-series points.

One `Sampler.sample()` is one cycle: every point shares one timestamp, and each psutil
call reads its /proc file once. Counters (disk and network I/O, CPU time) are sent as the
cumulative values the kernel keeps: the store computes rates, and a missed cycle loses
nothing. CPU percentages are over the time since the previous cycle.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator

import psutil

from pelihara.timeseries.base import FieldValue, Point

# Filesystems that are not storage (same list node_exporter ignores by default, roughly).
PSEUDO_FS = frozenset({
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts",
    "devtmpfs", "fusectl", "hugetlbfs", "mqueue", "nsfs", "overlay", "proc", "procfs",
    "pstore", "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "sysfs", "tracefs",
    "tmpfs", "ramfs",
})  # fmt: skip


def inventory_name(name: str) -> str:
    """A machine's name as the inventory writes hostnames: its first label, lowercase, so that
    the agent's series carry the `host` tag that `collect`, snapshots and the diff look for.

    >>> inventory_name("DINKES-Web01.dinkes.kotacontoh.go.id")
    'dinkes-web01'
    """
    return name.split(".", 1)[0].lower()


class Sampler:
    """Takes health samples; keeps what it needs between cycles (for CPU percentages)."""

    def __init__(self, host: str | None = None) -> None:
        self.host = host or inventory_name(socket.gethostname())
        psutil.cpu_percent(percpu=True)  # starts the interval the first sample measures

    def sample(self, time_ns: int | None = None) -> list[Point]:
        """One cycle of points, all at TIME_NS (default: now)."""
        stamp = time_ns if time_ns is not None else time.time_ns()
        return [
            Point(measurement, {"host": self.host, "source": "agent", **tags}, fields, stamp)
            for measurement, tags, fields in self._readings()
        ]

    def _readings(self) -> Iterator[tuple[str, dict[str, str], dict[str, FieldValue]]]:
        yield from cpu_readings()
        yield from memory_readings()
        yield from filesystem_readings()
        yield from disk_io_readings()
        yield from network_readings()
        yield "system", {}, system_fields()


Reading = tuple[str, dict[str, str], dict[str, FieldValue]]


def cpu_readings() -> Iterator[Reading]:
    per_core = psutil.cpu_percent(percpu=True)
    total = sum(per_core) / len(per_core) if per_core else 0.0
    yield "cpu", {"cpu": "total"}, {"usage_percent": round(total, 2)}
    for index, usage in enumerate(per_core):
        yield "cpu", {"cpu": f"cpu{index}"}, {"usage_percent": usage}
    load1, load5, load15 = os.getloadavg()
    yield "load", {}, {"load1": load1, "load5": load5, "load15": load15}


def memory_readings() -> Iterator[Reading]:
    memory = psutil.virtual_memory()
    yield "memory", {}, {
        "total_bytes": memory.total, "available_bytes": memory.available,
        "used_bytes": memory.used, "used_percent": memory.percent,
    }  # fmt: skip
    swap = psutil.swap_memory()
    yield "swap", {}, {"total_bytes": swap.total, "used_bytes": swap.used,
                       "used_percent": swap.percent}  # fmt: skip


def filesystem_readings() -> Iterator[Reading]:
    for partition in psutil.disk_partitions(all=False):
        if partition.fstype in PSEUDO_FS:
            continue
        try:
            usage = psutil.disk_usage(partition.mountpoint)
        except OSError:  # unmounted meanwhile, or not ours to read
            continue
        yield "filesystem", {"mount": partition.mountpoint, "fstype": partition.fstype}, {
            "total_bytes": usage.total, "used_bytes": usage.used, "free_bytes": usage.free,
            "used_percent": usage.percent,
        }  # fmt: skip


def disk_io_readings() -> Iterator[Reading]:
    for disk, io in sorted((psutil.disk_io_counters(perdisk=True, nowrap=True) or {}).items()):
        if disk.startswith(("loop", "ram", "zram")):
            continue
        yield "diskio", {"disk": disk}, {
            "read_bytes": io.read_bytes, "write_bytes": io.write_bytes,
            "reads": io.read_count, "writes": io.write_count,
            "busy_ms": getattr(io, "busy_time", 0),
        }  # fmt: skip


def network_readings() -> Iterator[Reading]:
    for name, io in sorted(psutil.net_io_counters(pernic=True, nowrap=True).items()):
        yield "net", {"interface": name}, {
            "bytes_sent": io.bytes_sent, "bytes_recv": io.bytes_recv,
            "packets_sent": io.packets_sent, "packets_recv": io.packets_recv,
            "errors_in": io.errin, "errors_out": io.errout,
            "drops_in": io.dropin, "drops_out": io.dropout,
        }  # fmt: skip


def system_fields() -> dict[str, FieldValue]:
    """Process count (the /proc directory listed once, no process read) and uptime."""
    boot = psutil.boot_time()
    return {"processes": len(psutil.pids()), "uptime_seconds": round(time.time() - boot, 1),
            "boot_time": int(boot)}  # fmt: skip
