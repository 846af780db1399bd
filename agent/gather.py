"""The facts of this machine, read locally: psutil, plus what the OS shows in files and tools.

>>> facts = gather_facts()                                  # doctest: +SKIP
>>> facts.identity.hostname, facts.cpu.threads, facts.memory_total_bytes   # doctest: +SKIP
('web01', 4, 8254459904)

Nothing is guessed: a file that is missing or unreadable, or a tool that is not installed,
fails or times out, gives None; a list is None when it was not read and () when it was read
and holds nothing (facts schema 2). Tools run with a fixed argv (no shell), a timeout and
`LC_ALL=C`; the collector's SSH bundle (`pelihara.facts.bundle`) runs the same tools remotely
and the parsers of `pelihara.facts` read both, so the two paths report the same facts.

Processes are known by their name only (`psutil.Process.name()`, the kernel's `comm`):
never a command line, an environment or a file's contents, which may hold secrets.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import shutil
import socket
import subprocess
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import psutil

from pelihara.facts.host_keys import host_keys_from_keygen
from pelihara.facts.model import (
    Cpu,
    Disk,
    Facts,
    HostKey,
    Identity,
    Interface,
    ListeningPort,
    Mount,
    OperatingSystem,
    Package,
    Service,
)
from pelihara.facts.network import mac_address, merge_ports, plain_address, sorted_addresses
from pelihara.facts.software import (
    DPKG_QUERY_COMMAND,
    RPM_COMMAND,
    SYSTEMCTL_COMMAND,
    packages_from_dpkg,
    packages_from_rpm,
    services_from_names,
    services_from_systemctl,
)
from pelihara.facts.storage import LSBLK_COMMAND, BlockDevices, parse_lsblk
from pelihara.facts.system import os_from_release, parse_cpuinfo

Scope = Literal["all", "hardware"]
TOOL_TIMEOUT_S = 20.0
# Appended to the caller's PATH: a non-root login often lacks the sbin directories.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

DMI_DIR = Path("/sys/class/dmi/id")
SSH_DIR = Path("/etc/ssh")
OS_RELEASE = (Path("/etc/os-release"), Path("/usr/lib/os-release"))


def gather_facts(scope: Scope = "all") -> Facts:
    """Every fact of this machine, each part read once.

    SCOPE "hardware": identity, CPU, memory, disks, interfaces and OS only, what `pelihara
    verify` compares; services, listening ports, packages and host keys are not read (None:
    they cost the most to read, the process table and dpkg's database).
    """
    collected_at = datetime.now(UTC)
    hardware = Facts(
        identity=identity(),
        cpu=cpu(),
        memory_total_bytes=int(psutil.virtual_memory().total),
        disks=disks(),
        interfaces=interfaces(),
        os=operating_system(),
        collected_at=collected_at,
    )
    if scope == "hardware":
        return hardware
    processes = process_names()
    return dataclasses.replace(
        hardware,
        services=services(processes),
        listening_ports=listening_ports(processes),
        packages=packages(),
        ssh_host_keys=ssh_host_keys(),
    )


# --- reading files and running tools -------------------------------------------------------


def read_text(path: Path | str) -> str | None:
    """A file's text, or None when it is missing or unreadable (root-only DMI serial)."""
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def read_line(path: Path | str) -> str | None:
    """A one-value file (machine-id, DMI) stripped; None when missing, unreadable or blank."""
    text = read_text(path)
    if text is None:
        return None
    return text.replace("\x00", "").strip() or None


def find_tool(name: str) -> str | None:
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), SYSTEM_PATH]))


def run_tool(argv: Sequence[str]) -> str | None:
    """A tool's standard output; None when it is not installed, fails (a non-zero exit
    status) or does not finish in time: not read, as the SSH bundle's `cmd || failed`."""
    path = find_tool(argv[0])
    if path is None:
        return None
    env = {**os.environ, "LC_ALL": "C"}
    try:
        done = subprocess.run(
            [path, *argv[1:]],
            capture_output=True,
            timeout=TOOL_TIMEOUT_S,
            check=False,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", errors="replace")


# --- identity, cpu, os ---------------------------------------------------------------------


def identity() -> Identity:
    return Identity(
        hostname=socket.gethostname(),
        fqdn=fqdn(),
        machine_id=read_line("/etc/machine-id"),
        dmi_vendor=read_line(DMI_DIR / "sys_vendor"),
        dmi_product=read_line(DMI_DIR / "product_name"),
        dmi_serial=read_line(DMI_DIR / "product_serial"),
        boot_time=datetime.fromtimestamp(psutil.boot_time(), UTC),
    )


def fqdn() -> str | None:
    """The host's canonical name, as `hostname -f` prints it (getaddrinfo, AI_CANONNAME).

    Not socket.getfqdn(): that resolves the address back to a name, and on the common
    `127.0.1.1 host` / `127.0.0.1 localhost host` lines of /etc/hosts answers "localhost".
    """
    try:
        answers = socket.getaddrinfo(socket.gethostname(), None, flags=socket.AI_CANONNAME)
    except (OSError, UnicodeError):
        return None
    names = [answer[3] for answer in answers if answer[3]]
    return names[0] if names else None


def cpu() -> Cpu:
    info = parse_cpuinfo(read_text("/proc/cpuinfo") or "")
    return Cpu(
        model=info.model,
        sockets=info.sockets,
        cores=psutil.cpu_count(logical=False),
        threads=psutil.cpu_count(logical=True),
    )


def operating_system() -> OperatingSystem:
    texts = (read_text(path) for path in OS_RELEASE)
    release = next((text for text in texts if text is not None), "")
    return os_from_release(release, platform.release())


# --- disks and mounts ----------------------------------------------------------------------


def disks() -> tuple[Disk, ...] | None:
    """Whole disks from lsblk, each with the mounts of the devices that live on it; None
    without lsblk."""
    text = run_tool(LSBLK_COMMAND)
    if text is None:
        return None
    devices = parse_lsblk(text)
    return devices.attach(mounts(devices))


def mounts(devices: BlockDevices) -> list[tuple[str, Mount]]:
    """Mounted block-device file systems, each paired with its block device name."""
    found = []
    for partition in psutil.disk_partitions(all=False):
        total, used = disk_usage(partition.mountpoint)
        mount = Mount(
            path=partition.mountpoint,
            device=partition.device,
            fstype=partition.fstype,
            total_bytes=total,
            used_bytes=used,
        )
        found.append((block_name(partition.device, devices), mount))
    return found


def block_name(device: str, devices: BlockDevices) -> str:
    """lsblk's name for a device path: /dev/sda1 -> sda1, /dev/mapper/vg-root -> vg-root,
    and a symlink (/dev/disk/by-uuid/...) by what it points to (dm-0, lsblk's KNAME)."""
    name = os.path.basename(device)
    if name in devices.owners:
        return name
    return os.path.basename(os.path.realpath(device))


def disk_usage(path: str) -> tuple[int | None, int | None]:
    try:
        usage = psutil.disk_usage(path)
    except OSError:  # a stale network mount or a path this user may not stat
        return None, None
    return int(usage.total), int(usage.used)


# --- network -------------------------------------------------------------------------------


def interfaces() -> tuple[Interface, ...]:
    addresses = fold_aliases(psutil.net_if_addrs())
    stats = psutil.net_if_stats()
    names = sorted(set(addresses) | set(stats))
    return tuple(interface(name, addresses.get(name, []), stats.get(name)) for name in names)


def fold_aliases(addresses: Mapping[str, list[Any]]) -> dict[str, list[Any]]:
    """getifaddrs names an IPv4 address by its label ("eth0:1"); it belongs to eth0, as
    `ip addr` shows it. A real interface name can never contain ':'."""
    folded: dict[str, list[Any]] = {}
    for name, entries in addresses.items():
        folded.setdefault(name.split(":", 1)[0], []).extend(entries)
    return folded


def interface(name: str, entries: list[Any], stats: Any) -> Interface:
    links = [entry.address for entry in entries if entry.family == psutil.AF_LINK]
    ipv4 = [entry.address for entry in entries if entry.family == socket.AF_INET]
    ipv6 = [plain_address(entry.address) for entry in entries if entry.family == socket.AF_INET6]
    return Interface(
        name=name,
        mac=mac_address(links[0]) if links else None,
        # psutil's isup is IFF_RUNNING: administratively up AND a carrier.
        is_up=bool(stats.isup) if stats is not None else None,
        # psutil reports 0 when the driver does not know the speed (virtual NICs, link down).
        speed_mbps=int(stats.speed) if stats is not None and stats.speed > 0 else None,
        ipv4=sorted_addresses(ipv4),
        ipv6=sorted_addresses(ipv6),
    )


def process_names() -> dict[int, str | None]:
    """pid -> name of every process, read once; None where the name is not visible."""
    return {
        process.info["pid"]: process.info["name"]
        for process in psutil.process_iter(["pid", "name"], ad_value=None)
    }


def listening_ports(names: Mapping[int, str | None]) -> tuple[ListeningPort, ...] | None:
    """Listening TCP and bound, unconnected UDP sockets, with the owner where visible; None
    when the sockets may not be listed."""
    try:
        connections = psutil.net_connections(kind="inet")
    except psutil.AccessDenied:  # not on Linux; other systems may require root
        return None
    found = []
    for connection in connections:
        protocol = listening_protocol(connection)
        if protocol is not None and connection.laddr:
            name = process_name(connection.pid, names)
            address = plain_address(connection.laddr.ip)
            port = ListeningPort(protocol, address, int(connection.laddr.port), name)
            found.append((port, connection.pid))
    return merge_ports(found)


def listening_protocol(connection: Any) -> str | None:
    if connection.type == socket.SOCK_STREAM and connection.status == psutil.CONN_LISTEN:
        return "tcp"
    if connection.type == socket.SOCK_DGRAM and not connection.raddr:
        return "udp"  # what `ss -ul` lists: bound and not connected
    return None


def process_name(pid: int | None, names: Mapping[int, str | None]) -> str | None:
    if pid is None:
        return None  # the owner belongs to another user: not visible without root
    if pid in names:
        return names[pid]
    try:  # started after the process list was read
        return str(psutil.Process(pid).name())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


# --- services, packages, host keys ---------------------------------------------------------


def services(names: Mapping[int, str | None]) -> tuple[Service, ...] | None:
    """systemd's service units when systemd is PID 1 (sd_booted's test), else processes;
    None when systemctl fails."""
    if Path("/run/systemd/system").is_dir():
        text = run_tool(SYSTEMCTL_COMMAND)
        return None if text is None else services_from_systemctl(text)
    return services_from_names(names.values())


def packages() -> tuple[Package, ...] | None:
    """dpkg's packages where dpkg-query exists, else rpm's; None (not read) without either,
    or when the one there fails."""
    if find_tool("dpkg-query"):
        text = run_tool(DPKG_QUERY_COMMAND)
        return None if text is None else packages_from_dpkg(text)
    if find_tool("rpm"):
        text = run_tool(RPM_COMMAND)
        return None if text is None else packages_from_rpm(text)
    return None


def ssh_host_keys() -> tuple[HostKey, ...] | None:
    """The fingerprints of /etc/ssh's host keys; None without ssh-keygen. A key ssh-keygen
    cannot read is left out, as the bundle's loop leaves it out."""
    if find_tool("ssh-keygen") is None:
        return None
    paths = sorted(SSH_DIR.glob("ssh_host_*_key.pub"))
    texts = (run_tool(("ssh-keygen", "-lf", str(path))) for path in paths)
    return host_keys_from_keygen("".join(text or "" for text in texts))
