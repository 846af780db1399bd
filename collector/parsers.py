"""One pure parser per section of the SSH facts bundle: the section's text in, typed values out.

An empty text (the tool was missing, or the file unreadable) gives None or (). Text with
the wrong shape raises `OutputFormatError`: an empty answer would later read as "every disk
was removed", which is worse than an error naming the section.

Sections whose tool the agent also runs locally (os-release, cpuinfo, lsblk, systemctl,
dpkg, rpm, ssh-keygen) use the agent's own parsers, re-exported here, so both paths agree.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from pelihara.agent.formats import (
    BlockDevices,
    CpuInfo,
    OutputFormatError,
    host_keys_from_keygen,
    json_list,
    mac_address,
    merge_ports,
    optional_int,
    optional_text,
    os_from_release,
    packages_from_dpkg,
    packages_from_rpm,
    parse_cpuinfo,
    parse_lsblk,
    parse_os_release,
    plain_address,
    services_from_names,
    services_from_systemctl,
    sorted_addresses,
)
from pelihara.facts.model import Interface, ListeningPort, Mount, Service

__all__ = [
    "BlockDevices",
    "CpuInfo",
    "OutputFormatError",
    "host_keys_from_keygen",
    "os_from_release",
    "packages_from_dpkg",
    "packages_from_rpm",
    "parse_btime",
    "parse_cpu_topology",
    "parse_cpuinfo",
    "parse_findmnt",
    "parse_ip_addr",
    "parse_line",
    "parse_lsblk",
    "parse_meminfo",
    "parse_net_speeds",
    "parse_os_release",
    "parse_ps",
    "parse_ss",
    "services_from_systemctl",
]


def parse_line(text: str) -> str | None:
    """A one-value section (hostname, fqdn, machine-id, DMI, kernel): its first non-blank
    line, stripped."""
    lines = [line.strip() for line in text.replace("\x00", "").splitlines() if line.strip()]
    return lines[0] if lines else None


def parse_btime(text: str) -> datetime | None:
    """`btime 1718000000` from /proc/stat: the boot time, whole seconds since the epoch.

    psutil.boot_time() reads the same line, so both paths give the same instant.
    """
    for line in text.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == "btime":
            seconds = optional_int(words[1])
            if seconds is None:
                raise OutputFormatError(f"btime is not a number: {line!r}")
            return datetime.fromtimestamp(seconds, UTC)
    return None


def parse_cpu_topology(text: str) -> int | None:
    """Physical cores: one `core_cpus_list` line per logical CPU ("0,16" or "0-1"); the
    distinct lines are the cores. The same count psutil.cpu_count(logical=False) makes."""
    lists = {line.strip() for line in text.splitlines() if line.strip()}
    return len(lists) or None


def parse_meminfo(text: str) -> int | None:
    """`MemTotal:  24683656 kB` -> bytes. The kernel's "kB" is KiB: multiply by 1024, as
    psutil.virtual_memory().total does."""
    for line in text.splitlines():
        match = re.fullmatch(r"MemTotal:\s*(\d+)\s*kB", line.strip())
        if match:
            return int(match.group(1)) * 1024
        if line.startswith("MemTotal:"):
            raise OutputFormatError(f"MemTotal not in kB: {line!r}")
    return None


def parse_findmnt(text: str) -> tuple[tuple[str, Mount], ...]:
    """`findmnt -J -b -l -o SOURCE,TARGET,FSTYPE,SIZE,USED`: every mount, paired with the
    block device name of its source. Sources that are not /dev paths (tmpfs, proc, NFS,
    ZFS datasets) are dropped; a bind mount's `[/subdir]` suffix is removed."""
    if not text.strip():
        return ()
    found = []
    for entry in json_list(text, "filesystems"):
        device = re.sub(r"\[.*\]$", "", str(entry.get("source") or ""))
        if not device.startswith("/dev/"):
            continue
        mount = Mount(
            path=str(entry.get("target") or ""),
            device=device,
            fstype=str(entry.get("fstype") or ""),
            total_bytes=optional_int(entry.get("size")),
            used_bytes=optional_int(entry.get("used")),
        )
        found.append((device.rsplit("/", 1)[-1], mount))
    return tuple(found)


def parse_net_speeds(text: str) -> dict[str, int | None]:
    """`NAME SPEED` lines from /sys/class/net/*/speed, in Mbps. The kernel reports -1 (or
    refuses the read, leaving SPEED empty) when the speed is unknown: None."""
    speeds: dict[str, int | None] = {}
    for line in text.splitlines():
        words = line.split()
        if words:
            speed = optional_int(words[1]) if len(words) > 1 else None
            speeds[words[0]] = speed if speed is not None and speed > 0 else None
    return speeds


def parse_ip_addr(text: str, speeds: dict[str, int | None] | None = None) -> tuple[Interface, ...]:
    """`ip -j addr`: every interface with its link address, state and addresses; `speeds`
    from `parse_net_speeds`."""
    if not text.strip():
        return ()
    links = _ip_links(text)
    found = [_interface(link, (speeds or {}).get(str(link["ifname"]))) for link in links]
    return tuple(sorted(found, key=lambda interface: interface.name))


def _ip_links(text: str) -> list[dict[str, Any]]:
    try:
        links = json.loads(text)
    except ValueError as exc:
        raise OutputFormatError(f"ip -j addr is not JSON: {exc}") from None
    if not isinstance(links, list) or not all(
        isinstance(link, dict) and link.get("ifname") for link in links
    ):
        raise OutputFormatError("ip -j addr is not a list of interfaces")
    return links


def _interface(link: dict[str, Any], speed: int | None) -> Interface:
    flags = [str(flag) for flag in link.get("flags") or ()]
    addresses = [item for item in link.get("addr_info") or () if isinstance(item, dict)]
    return Interface(
        name=str(link["ifname"]),
        mac=mac_address(optional_text(link.get("address"))),
        # IFF_RUNNING, as psutil's isup: `ip` prints UP, and NO-CARRIER when UP but not RUNNING.
        is_up="UP" in flags and "NO-CARRIER" not in flags,
        speed_mbps=speed,
        ipv4=sorted_addresses(str(a["local"]) for a in addresses if a.get("family") == "inet"),
        ipv6=sorted_addresses(
            plain_address(str(a["local"])) for a in addresses if a.get("family") == "inet6"
        ),
    )


def parse_ps(text: str) -> tuple[Service, ...]:
    """`ps -eo comm=` without systemd: the distinct process names."""
    return services_from_names(text.splitlines())


_SS_USER = re.compile(r'\("((?:[^"\\]|\\.)*)",pid=(\d+),')


def parse_ss(text: str) -> tuple[ListeningPort, ...]:
    """`ss -Htulnp`: `NETID STATE RECV-Q SEND-Q LOCAL PEER [users:(("name",pid=N,fd=M),...)]`.

    LOCAL is `addr:port`, `[v6addr]:port`, maybe with `%iface`; modern ss prints `*` for
    the dual-stack IPv6 wildcard, which psutil reports as "::". The owner is visible only
    to root or the socket's own user.
    """
    found = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if len(words) < 6 or words[0] not in ("tcp", "udp"):
            raise OutputFormatError(f"not an ss -tuln line: {line!r}")
        address, port = _ss_local(words[4])
        name, pid = _ss_owner(" ".join(words[6:]))
        found.append((ListeningPort(words[0], address, port, name), pid))
    return merge_ports(found)


def _ss_local(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not port.isdigit():
        raise OutputFormatError(f"ss local address without a port: {text!r}")
    address = plain_address(host)
    return ("::" if address == "*" else address), int(port)


def _ss_owner(text: str) -> tuple[str | None, int | None]:
    owners = [(int(pid), name) for name, pid in _SS_USER.findall(text)]
    if not owners:
        return None, None
    pid, name = min(owners)
    return name, pid
