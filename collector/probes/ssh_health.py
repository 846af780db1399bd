"""Health over SSH, for `pelihara collect --probe ssh`: one fixed read-only script, one round
trip, pure parsers. Counters (CPU time, network bytes) are the kernel's cumulative values;
the store computes rates.
"""

from __future__ import annotations

from typing import Any

from pelihara.collector.probes.ssh import SshProbe
from pelihara.facts.model import Facts
from pelihara.facts.section import gathered, split_sections

HEADER = "@@pelihara:health 1"

# Gathered in the shell and written at once: one SSH packet, not one per command.
HEALTH_SCRIPT = gathered(r"""LC_ALL=C; export LC_ALL
section() { printf '\n@@pelihara:section %s\n' "$1"; }
printf '@@pelihara:health 1\n'
section loadavg; cat /proc/loadavg 2>/dev/null
section uptime; cat /proc/uptime 2>/dev/null
section stat; grep '^cpu' /proc/stat 2>/dev/null
section meminfo; grep -E '^(MemTotal|MemAvailable|SwapTotal|SwapFree):' /proc/meminfo 2>/dev/null
section netdev; cat /proc/net/dev 2>/dev/null
section df; df -P -B1 -x tmpfs -x devtmpfs -x overlay -x squashfs 2>/dev/null
section processes; ls /proc 2>/dev/null | grep -c '^[0-9]'
printf '\n@@pelihara:end\n'
""")

USER_HZ = 100  # /proc/stat ticks per second on every Linux architecture pelihara meets


def parse_loadavg(text: str) -> dict[str, float]:
    """`0.52 0.58 0.59 1/467 12345` -> load1/5/15."""
    parts = text.split()
    if len(parts) < 3:
        raise ValueError("loadavg: expected three numbers")
    return {"load1": float(parts[0]), "load5": float(parts[1]), "load15": float(parts[2])}


def parse_cpu_stat(text: str) -> dict[str, dict[str, float]]:
    """`cpu  10 0 5 100 2 ...` lines -> {"total": {"user_seconds": .., ...}, "cpu0": ...}."""
    names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    found = {}
    for line in text.splitlines():
        label, *ticks = line.split()
        key = "total" if label == "cpu" else label
        found[key] = {f"{n}_seconds": int(t) / USER_HZ for n, t in zip(names, ticks, strict=False)}
    return found


def parse_meminfo_health(text: str) -> dict[str, int]:
    """MemTotal/MemAvailable/SwapTotal/SwapFree (kB) -> bytes."""
    values = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        values[name] = int(rest.split()[0]) * 1024
    return values


def parse_netdev(text: str) -> dict[str, dict[str, int]]:
    """/proc/net/dev -> per interface bytes, packets, errors, drops (received, sent)."""
    result = {}
    for line in text.splitlines()[2:]:
        name, _, counters = line.partition(":")
        c = [int(v) for v in counters.split()]
        if len(c) < 16:
            continue
        result[name.strip()] = {
            "bytes_recv": c[0], "packets_recv": c[1], "errors_in": c[2], "drops_in": c[3],
            "bytes_sent": c[8], "packets_sent": c[9], "errors_out": c[10], "drops_out": c[11],
        }  # fmt: skip
    return result


def parse_df(text: str) -> dict[str, dict[str, int]]:
    """`df -P -B1`: mount point -> total, used, free bytes (mount points with spaces kept)."""
    result = {}
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 6 or not parts[1].isdigit():
            continue
        mount = line.split(None, 5)[5]
        result[mount] = {"total_bytes": int(parts[1]), "used_bytes": int(parts[2]),
                         "free_bytes": int(parts[3])}  # fmt: skip
    return result


def parse_health(text: str) -> dict[str, Any]:
    """The health script's output as JSON-ready data (what `collect` turns into points)."""
    sections = split_sections(text, HEADER)
    uptime = sections.get("uptime", "").split()
    return {
        "load": parse_loadavg(sections.get("loadavg", "")) if sections.get("loadavg") else None,
        "uptime_seconds": float(uptime[0]) if uptime else None,
        "cpu": parse_cpu_stat(sections.get("stat", "")),
        "memory": parse_meminfo_health(sections.get("meminfo", "")),
        "net": parse_netdev(sections.get("netdev", "")),
        "filesystems": parse_df(sections.get("df", "")),
        "processes": int(sections["processes"]) if sections.get("processes", "").strip() else None,
    }


class SshHealthProbe(SshProbe):
    """Health samples over SSH (same connection rules and host key checks as `SshProbe`)."""

    script = HEALTH_SCRIPT

    def read(self, text: str) -> tuple[dict[str, Any], Facts | None]:
        return {"health": parse_health(text)}, None
