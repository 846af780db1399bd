"""Pure parsers of what Linux files and tools print, shared by the agent and the collector.

The agent (`agent.gather`) runs these tools locally; the collector's SSH bundle
(`collector.bundle`) runs the same tools remotely. Both read the output here, so the two
paths cannot drift apart on format details. Text in, typed values out; no I/O.

>>> parse_os_release('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\\nID=debian\\n')["ID"]
'debian'
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pelihara.facts.model import (
    Disk,
    HostKey,
    ListeningPort,
    Mount,
    OperatingSystem,
    Package,
    Service,
)


class OutputFormatError(ValueError):
    """A tool printed something that does not have the shape its parser expects."""


def optional_text(value: object) -> str | None:
    """Stripped text, or None for a missing or blank value (a value never read is never "")."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def optional_int(value: object) -> int | None:
    """An integer from int or decimal text; None when absent or not a number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


# --- os-release ------------------------------------------------------------------------


def parse_os_release(text: str) -> dict[str, str]:
    """os-release(5): KEY=value lines, values shell-quoted; comments and blanks ignored."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            fields[key] = _unquote(value)
    return fields


# What shlex treats specially: quotes, the backslash, and (outside quotes) its whitespace.
_QUOTING = frozenset("\"'\\")
_SHLEX_SPACE = frozenset(" \t\r\n")


def _unquote(value: str) -> str:
    # Nearly every value is `"text"` or `word`; those read as themselves without shlex, which
    # costs more than the rest of a host's os-release parse.
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        if _QUOTING.isdisjoint(value[1:-1]):
            return value[1:-1]
    elif _QUOTING.isdisjoint(value) and _SHLEX_SPACE.isdisjoint(value):
        return value
    try:
        return " ".join(shlex.split(value))
    except ValueError:  # an unbalanced quote: keep the text, drop the quote characters
        return value.strip("\"'")


def os_from_release(text: str, kernel: str | None) -> OperatingSystem:
    """The OS facts from os-release text and the kernel release (`uname -r`)."""
    fields = parse_os_release(text)
    return OperatingSystem(
        name=optional_text(fields.get("PRETTY_NAME")),
        id=optional_text(fields.get("ID")),
        version=optional_text(fields.get("VERSION_ID")),
        kernel=optional_text(kernel),
    )


# --- /proc/cpuinfo ---------------------------------------------------------------------


@dataclass(frozen=True)
class CpuInfo:
    """What /proc/cpuinfo tells: None where the architecture does not print the field."""

    model: str | None = None
    sockets: int | None = None  # distinct "physical id"; absent on most ARM kernels
    processors: int | None = None  # "processor" entries: the online logical CPUs
    cores: int | None = None  # "cpu cores" summed over sockets (psutil's own fallback)


def parse_cpuinfo(text: str) -> CpuInfo:
    """/proc/cpuinfo: one blank-line separated block per logical CPU."""
    blocks = [_cpuinfo_block(block) for block in re.split(r"\n\s*\n", text) if block.strip()]
    processors = sum(1 for block in blocks if "processor" in block)
    models = [block["model name"] for block in blocks if block.get("model name")]
    packages = {block["physical id"] for block in blocks if "physical id" in block}
    cores = {
        block["physical id"]: optional_int(block.get("cpu cores"))
        for block in blocks
        if "physical id" in block
    }
    core_total = sum(count or 0 for count in cores.values())
    return CpuInfo(
        model=models[0] if models else None,
        sockets=len(packages) or None,
        processors=processors or None,
        cores=core_total or None,
    )


def _cpuinfo_block(block: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in block.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    return fields


# --- lsblk JSON ------------------------------------------------------------------------

LSBLK_COLUMNS = "NAME,KNAME,SIZE,MODEL,SERIAL,TYPE"


@dataclass(frozen=True)
class BlockDevices:
    """Whole disks from `lsblk -J -b -o NAME,KNAME,SIZE,MODEL,SERIAL,TYPE`, and which disks
    each block device (partition, LVM volume, RAID array) lives on."""

    disks: tuple[Disk, ...] = ()
    owners: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def attach(self, mounts: Iterable[tuple[str, Mount]]) -> tuple[Disk, ...]:
        """The disks with their mounts; `mounts` pairs a block device name with its mount.

        A mount whose device is not on a listed disk (tmpfs, overlay, NFS, loop, ZFS
        datasets) is left out: the disks describe hardware, not every file system.
        """
        found: dict[str, set[Mount]] = {disk.name: set() for disk in self.disks}
        for name, mount in mounts:
            for disk in self.owners.get(name, ()):
                found[disk].add(mount)
        return tuple(
            replace(disk, mounts=tuple(sorted(found[disk.name], key=_mount_key)))
            for disk in self.disks
        )


def _mount_key(mount: Mount) -> tuple[str, str, str]:
    return (mount.path, mount.device, mount.fstype)


def parse_lsblk(text: str) -> BlockDevices:
    """lsblk's JSON tree. Only TYPE "disk" counts as a disk, and not zram/ram (RAM, not
    hardware); loop and rom devices are skipped. An empty text gives no disks."""
    if not text.strip():
        return BlockDevices()
    tops = json_list(text, "blockdevices")
    owners: dict[str, set[str]] = {}
    disks = []
    for node in tops:
        if _is_disk(node):
            disks.append(_disk(node))
            _collect_owners(node, str(node["name"]), owners)
    return BlockDevices(
        disks=tuple(sorted(disks, key=lambda disk: disk.name)),
        owners={name: tuple(sorted(tops_of)) for name, tops_of in owners.items()},
    )


def json_list(text: str, key: str) -> list[dict[str, Any]]:
    """The list of objects under `key` of a JSON document (lsblk, findmnt)."""
    try:
        items = json.loads(text)[key]
    except (ValueError, KeyError, TypeError) as exc:
        raise OutputFormatError(f"not JSON with a {key!r} list: {exc}") from None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise OutputFormatError(f"{key!r} is not a list of objects")
    return items


def _is_disk(node: dict[str, Any]) -> bool:
    name = str(node.get("name") or "")
    return node.get("type") == "disk" and bool(name) and not name.startswith(("zram", "ram"))


def _disk(node: dict[str, Any]) -> Disk:
    # util-linux before 2.33 prints numbers as JSON strings, later ones as numbers.
    return Disk(
        name=str(node["name"]),
        size_bytes=optional_int(node.get("size")),
        model=optional_text(node.get("model")),
        serial=optional_text(node.get("serial")),
    )


def _collect_owners(node: dict[str, Any], disk: str, owners: dict[str, set[str]]) -> None:
    for key in ("name", "kname"):
        if node.get(key):
            owners.setdefault(str(node[key]), set()).add(disk)
    for child in node.get("children") or ():
        if isinstance(child, dict):
            _collect_owners(child, disk, owners)


# --- systemd, processes ----------------------------------------------------------------

# The marker some systemctl versions put before a failed or not-found unit (dot, cross, circle).
_BULLETS = {"\u25cf", "\u00d7", "\u25cb", "*"}


def services_from_systemctl(text: str) -> tuple[Service, ...]:
    """`systemctl list-units --type=service --all --no-legend --no-pager --plain`:
    `UNIT LOAD ACTIVE SUB DESCRIPTION...`; state is "ACTIVE/SUB" ("active/running")."""
    services = set()
    for line in text.splitlines():
        words = line.split()
        if words and words[0] in _BULLETS:  # failed/not-found marker on some versions
            words = words[1:]
        if not words:
            continue
        if len(words) < 4:
            raise OutputFormatError(f"systemctl line without UNIT LOAD ACTIVE SUB: {line!r}")
        services.add(Service(name=words[0], state=f"{words[2]}/{words[3]}", source="systemd"))
    return tuple(sorted(services, key=lambda service: service.name))


def services_from_names(names: Iterable[str | None]) -> tuple[Service, ...]:
    """Without systemd: the distinct names of the running processes."""
    distinct = {name.strip() for name in names if name and name.strip()}
    return tuple(Service(name=name, state="running", source="process") for name in sorted(distinct))


# --- packages --------------------------------------------------------------------------


def packages_from_dpkg(text: str) -> tuple[Package, ...]:
    """`dpkg-query -W -f '${db:Status-Abbrev}\\t${binary:Package}\\t${Version}\\n'`.

    Packages that are not installed ("un": known only, no version; "rc": removed, config
    left) are skipped; the second status letter is the installed state.
    """
    found = set()
    for line in text.splitlines():
        if not line.strip():
            continue
        status, name, version = _tab_fields(line, 3)
        if len(status) >= 2 and status[1] not in "nc":
            found.add(_package(name, version, "dpkg", line))
    return _sorted_packages(found)


def packages_from_rpm(text: str) -> tuple[Package, ...]:
    """`rpm -qa --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\n'`."""
    found = set()
    for line in text.splitlines():
        if line.strip():
            name, version = _tab_fields(line, 2)
            found.add(_package(name, version, "rpm", line))
    return _sorted_packages(found)


def _tab_fields(line: str, count: int) -> list[str]:
    fields = [field.strip() for field in line.split("\t")]
    if len(fields) != count:
        raise OutputFormatError(f"expected {count} tab-separated fields: {line!r}")
    return fields


def _package(name: str, version: str, manager: str, line: str) -> Package:
    if not name or not version:
        raise OutputFormatError(f"an installed package without a name or version: {line!r}")
    return Package(name=name, version=version, manager=manager)


def _sorted_packages(found: set[Package]) -> tuple[Package, ...]:
    return tuple(sorted(found, key=lambda package: (package.name, package.version)))


# --- ssh-keygen -l ---------------------------------------------------------------------

_KEY_TYPES = {
    "RSA": "ssh-rsa",
    "DSA": "ssh-dss",
    "ED25519": "ssh-ed25519",
    "ED25519-SK": "sk-ssh-ed25519@openssh.com",
    "ECDSA-SK": "sk-ecdsa-sha2-nistp256@openssh.com",
}


def host_keys_from_keygen(text: str) -> tuple[HostKey, ...]:
    """`ssh-keygen -lf KEY.pub` lines: `256 SHA256:... comment (ED25519)`.

    Lines with an MD5 fingerprint (OpenSSH before 6.8) are skipped: the model keeps SHA256.
    """
    keys = set()
    for line in text.splitlines():
        words = line.split()
        if len(words) < 3 or not words[1].startswith("SHA256:"):
            continue
        keys.add(HostKey(key_type=_key_type(words[0], words[-1]), fingerprint_sha256=words[1]))
    return tuple(sorted(keys, key=lambda key: (key.key_type, key.fingerprint_sha256)))


def _key_type(bits: str, label: str) -> str:
    kind = label.strip("()").upper()
    if kind == "ECDSA":
        return f"ecdsa-sha2-nistp{bits}"  # the curve is named by its size: 256, 384, 521
    # A type this table does not know keeps ssh-keygen's own label, never a made-up name.
    return _KEY_TYPES.get(kind, kind)


# --- network ---------------------------------------------------------------------------

_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2})*")
_MAC_OCTETS = {6, 8, 20}  # Ethernet/Wi-Fi (EUI-48), EUI-64, InfiniBand


def mac_address(text: str | None) -> str | None:
    """A link-layer address in lower case, or None: absent, all zeros (loopback), or not a
    hardware address (tunnels print an IPv4 address or 4 zero bytes)."""
    value = (text or "").strip().lower()
    if not _MAC.fullmatch(value) or len(value.split(":")) not in _MAC_OCTETS:
        return None
    return None if set(value) <= {"0", ":"} else value


def plain_address(text: str) -> str:
    """An IP address without brackets or a `%zone` suffix: "[fe80::1]%eth0" -> "fe80::1"."""
    return text.split("%", 1)[0].strip("[]")


def sorted_addresses(addresses: Iterable[str]) -> tuple[str, ...]:
    """Distinct addresses in numeric order (10.0.0.9 before 10.0.0.10)."""
    distinct = set(addresses)
    if len(distinct) < 2:  # the usual case: nothing to order, so no address to parse
        return tuple(distinct)
    return tuple(sorted(distinct, key=_address_key))


def _address_key(text: str) -> tuple[int, int, str]:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return (9, 0, text)
    return (address.version, int(address), text)


def merge_ports(found: Iterable[tuple[ListeningPort, int | None]]) -> tuple[ListeningPort, ...]:
    """One entry per (protocol, address, port), sorted by (protocol, port, address).

    A socket shared by several processes (a pre-forking server) is named after the lowest
    visible pid: the parent, in practice, and the same answer from psutil and from `ss`.
    """
    best: dict[tuple[str, int, str], tuple[int, ListeningPort]] = {}
    for port, pid in found:
        key = (port.protocol, port.port, port.address)
        rank = sys.maxsize if pid is None or port.process is None else pid
        if key not in best or rank < best[key][0]:
            best[key] = (rank, port)
    return tuple(best[key][1] for key in sorted(best))
