"""Which items of two snapshots are the same thing, and which fields change by themselves.

The snapshot diff pairs the items of each collection (`Facts.disks`, `Disk.mounts`, ...) by
their KEY, then compares the other fields. A key names the thing, not where it sits: a disk
moved to another slot is the same disk, so it is keyed by its serial, not by `sda`.

>>> KEYS[Disk](Disk(name="sdb", serial="S3Z1NB0K")), KEYS[Disk](Disk(name="vda"))
(('serial', 'S3Z1NB0K'), ('name', 'vda'))

A key says which thing an item is; it does not promise that one snapshot holds one item
per key. Several items may share one: a bond, a bridge and its VLANs take the MAC of a
port; the paths of one multipath LUN share its serial; rpm keeps several `kernel` (and
`gpg-pubkey`) packages installed side by side. The diff pairs the groups of items that
share a key, not single items.

VOLATILE lists, per model type, the fields that change while nothing is maintained: the
diff shows them apart from real changes, or leaves them out. Type by type:

- `Facts.collected_at`: when the snapshot was taken, different every time.
- `Mount.used_bytes`: files are written all the time; `total_bytes` changes only by a resize.
- `Identity`: none. `boot_time` changes on a reboot, which a maintenance must show.
- `Interface`: none. `speed_mbps` is what the link negotiated: it changes when a cable, a
  switch port or a card was touched (a 10G link back at 1G is a finding); `is_up` and the
  addresses are what "the server came back" means.
- `Service`: none. A unit that did not come back ("failed/failed") is the finding.
- `ListeningPort`: none. Its owner changes only when another program listens there.
- `Cpu`, `Disk`, `OperatingSystem`, `Package`, `HostKey`: none. A change is hardware
  swapped, software installed or removed, a key replaced.

Whole items can come and go by themselves too, which no field list says: process names
where there is no systemd (`Service.source` "process"), and UDP ports a client binds for a
moment. And some values depend on who reads, not on time (the DMI serial and the owners of
other users' sockets are visible to root only): compare snapshots taken as the same user.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

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

Key = tuple[str | int, ...]


def disk_key(disk: Disk) -> Key:
    """A disk is its serial, wherever it is plugged in (sda today, sdb after a swap); a disk
    that reports none (virtio, many RAID volumes) is its name."""
    return ("serial", disk.serial) if disk.serial else ("name", disk.name)


def mount_key(mount: Mount) -> Key:
    """A mount is its mount point: `/var` on a new device is `/var` moved."""
    return (mount.path,)


def interface_key(interface: Interface) -> Key:
    """An interface is its MAC: renamed (eth0 -> ens3 by a new kernel) it is the same card;
    without one (loopback, tunnels, WireGuard) it is its name."""
    return ("mac", interface.mac) if interface.mac else ("name", interface.name)


def service_key(service: Service) -> Key:
    """A service is its unit name ("sshd.service"), or its process name without systemd."""
    return (service.name,)


def listening_port_key(port: ListeningPort) -> Key:
    """A listening socket is where it listens; the process that owns it is compared."""
    return (port.protocol, port.address, port.port)


def package_key(package: Package) -> Key:
    """A package is its name in its manager's database; the version is what changes."""
    return (package.manager, package.name)


def host_key_key(key: HostKey) -> Key:
    """A host key is its type: one key per type is what sshd offers; the fingerprint is
    what must not change."""
    return (key.key_type,)


# Every collection's item type -> its key. Read as `KEYS[type(item)](item)`.
KEYS: Mapping[type[Any], Callable[[Any], Key]] = MappingProxyType(
    {
        Disk: disk_key,
        Mount: mount_key,
        Interface: interface_key,
        Service: service_key,
        ListeningPort: listening_port_key,
        Package: package_key,
        HostKey: host_key_key,
    }
)

# Every model type -> the fields that change with nothing maintained (the module docstring
# says why, type by type). A type with none is listed too: that it has none was decided.
VOLATILE: Mapping[type[Any], frozenset[str]] = MappingProxyType(
    {
        Facts: frozenset({"collected_at"}),
        Identity: frozenset(),
        Cpu: frozenset(),
        Disk: frozenset(),
        Mount: frozenset({"used_bytes"}),
        Interface: frozenset(),
        OperatingSystem: frozenset(),
        Service: frozenset(),
        ListeningPort: frozenset(),
        Package: frozenset(),
        HostKey: frozenset(),
    }
)


def key_of(item: object) -> Key:
    """The key of an item of any collection of the model."""
    return KEYS[type(item)](item)


def collection(facts: Facts, name: str) -> tuple[Any, ...] | None:
    """The list fact NAME of FACTS as read: None when it was not read, () when there is none.

    Facts schema 2 makes every list fact `tuple[...] | None`; schema 1 has no None (a list
    not read is `()`). Reading through here, the diff works with both."""
    items: tuple[Any, ...] | None = getattr(facts, name)
    return items
