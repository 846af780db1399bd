"""Disks and their mounts: lsblk and findmnt, the sections that run them and their parsers.

The agent runs the same lsblk (`LSBLK_COMMAND`) and reads it here; its mounts come from
psutil, paired with their disk by `BlockDevices.attach`, as the bundle's findmnt ones are.

>>> parse_lsblk('{"blockdevices": [{"name": "vda", "type": "disk", "size": 4096}]}').disks
(Disk(name='vda', size_bytes=4096, model=None, serial=None, mounts=None),)
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pelihara.facts.model import Disk, Mount
from pelihara.facts.output import json_list, optional_int, optional_text
from pelihara.facts.section import Section

LSBLK_COLUMNS = "NAME,KNAME,SIZE,MODEL,SERIAL,TYPE"
LSBLK_COMMAND = ("lsblk", "-J", "-b", "-o", LSBLK_COLUMNS)


@dataclass(frozen=True)
class BlockDevices:
    """Whole disks from `lsblk -J -b -o NAME,KNAME,SIZE,MODEL,SERIAL,TYPE`, and which disks
    each block device (partition, LVM volume, RAID array) lives on."""

    disks: tuple[Disk, ...] = ()
    owners: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def attach(self, mounts: Iterable[tuple[str, Mount]] | None) -> tuple[Disk, ...]:
        """The disks with their mounts; `mounts` pairs a block device name with its mount,
        None when the mounts were not read (each disk's mounts are None then).

        A mount whose device is not on a listed disk (tmpfs, overlay, NFS, loop, ZFS
        datasets) is left out: the disks describe hardware, not every file system.
        """
        if mounts is None:
            return self.disks
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


# --- the sections -------------------------------------------------------------------------

# `|| failed`: no lsblk (or one too old for -J) is "disks not read", never "no disks".
LSBLK = Section("lsblk", f"{shlex.join(LSBLK_COMMAND)} 2>/dev/null || failed", parse_lsblk)
FINDMNT = Section(
    "findmnt",
    "findmnt -J -b -l -o SOURCE,TARGET,FSTYPE,SIZE,USED 2>/dev/null || failed",
    parse_findmnt,
)


def disks(sections: Mapping[str, str]) -> tuple[Disk, ...] | None:
    """The whole disks, each with the mounts of the devices that live on it; None when
    lsblk was not read, each disk's mounts None when findmnt was not (the verify bundle)."""
    devices = LSBLK.read_known(sections)
    if devices is None:
        return None
    return devices.attach(FINDMNT.read_known(sections))
