"""Disks and mounts (lsblk, findmnt), on recorded outputs in tests/fixtures/bundle."""

from __future__ import annotations

import pytest

from pelihara.facts.model import Mount
from pelihara.facts.output import OutputFormatError
from pelihara.facts.storage import parse_findmnt, parse_lsblk
from tests.facts.recorded import DEBIAN, ROCKY, section


def test_parse_lsblk_keeps_whole_disks_only() -> None:
    assert [disk.name for disk in parse_lsblk(section(DEBIAN, "lsblk")).disks] == ["vda"]
    rocky = parse_lsblk(section(ROCKY, "lsblk"))
    assert [disk.name for disk in rocky.disks] == ["nvme0n1", "sda"]  # no loop0, sr0, zram0
    nvme, sda = rocky.disks
    assert nvme.size_bytes == 1600321314816  # given as a string, as util-linux < 2.33 does
    assert sda.model == "PERC H740P Mini" and sda.serial == "0012a3b4c5d6e7f82400b0a1b2c3d4e5"


def test_parse_lsblk_knows_which_disk_each_device_lives_on() -> None:
    owners = parse_lsblk(section(ROCKY, "lsblk")).owners
    assert owners["sda1"] == owners["rl-root"] == owners["dm-0"] == ("sda",)
    assert owners["nvme0n1"] == ("nvme0n1",)
    assert "loop0" not in owners


def test_parse_lsblk_refuses_garbage() -> None:
    with pytest.raises(OutputFormatError):
        parse_lsblk("lsblk: unknown column: KNAME\n{")


def test_parse_findmnt_keeps_block_device_mounts() -> None:
    found = parse_findmnt(section(DEBIAN, "findmnt"))
    assert [mount.path for _, mount in found] == ["/"]  # devtmpfs, tmpfs, proc: not devices
    ((name, root),) = found
    assert name == "vda"
    assert root == Mount("/", "/dev/vda", "ext4", 270553174016, root.used_bytes)


def test_parse_findmnt_strips_the_bind_mount_subdirectory() -> None:
    mounts = parse_findmnt(section(ROCKY, "findmnt"))
    found = {mount.path: (name, mount.device) for name, mount in mounts}
    assert found["/var/lib/containers"] == ("nvme0n1", "/dev/nvme0n1")
    assert found["/"] == ("rl-root", "/dev/mapper/rl-root")
    assert "/mnt/backup" not in found and "/run" not in found


def test_mounts_are_attached_to_the_disk_they_live_on() -> None:
    devices = parse_lsblk(section(ROCKY, "lsblk"))
    nvme, sda = devices.attach(parse_findmnt(section(ROCKY, "findmnt")))
    assert [mount.path for mount in sda.mounts] == ["/", "/boot", "/boot/efi", "/home"]
    assert [mount.path for mount in nvme.mounts] == ["/data", "/var/lib/containers"]
    # the squashfs on loop0 and the NFS share are on no disk: left out
    assert {mount.fstype for mount in sda.mounts + nvme.mounts} == {"xfs", "vfat"}
