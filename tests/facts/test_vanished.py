"""The parts that vanished in a diff, read from its stored dict form (`diff_to_dict`), on
the synthetic Rocky server of tests/fixtures/facts edited so the edit is the only change."""

from __future__ import annotations

import json

from pelihara.core.canonical import canonical_json
from pelihara.facts.changes import diff_to_dict
from pelihara.facts.vanished import VanishedPart, serials_of, vanished_parts
from tests.facts.snapshots import diff, edit, replace, rocky


def _stored(before: object, after: object) -> dict[str, object]:
    """The diff as `snapshot diff --ticket` stores it and the gate reads it back."""
    return json.loads(canonical_json(diff_to_dict(diff(before, after))))  # type: ignore[arg-type]


def test_a_disk_pulled_out_is_a_vanished_part_by_its_serial() -> None:
    before = rocky()
    pulled = next(disk for disk in before.disks if disk.serial)
    after = replace(before, disks=tuple(d for d in before.disks if d is not pulled))
    assert vanished_parts(_stored(before, after)) == (
        VanishedPart("disk", pulled.serial, f"{pulled.name} ({pulled.serial})"),
    )


def test_a_disk_swapped_for_another_serial_is_the_old_serial_vanished() -> None:
    before = rocky()
    after = replace(before, disks=edit(before.disks, lambda d: d.name == "nvme0n1",
                                       serial="PHAB999900"))  # fmt: skip
    old = next(d.serial for d in before.disks if d.name == "nvme0n1")
    assert [part.serial for part in vanished_parts(_stored(before, after))] == [old]


def test_a_disk_moved_to_another_slot_or_one_without_a_serial_is_not_vanished() -> None:
    before = rocky()
    moved = replace(before, disks=edit(before.disks, lambda d: d.name == "sda", name="sdc"))
    assert vanished_parts(_stored(before, moved)) == ()
    unnamed = replace(before, disks=(*before.disks, replace(before.disks[0], name="vdz",
                                                            serial=None)))  # fmt: skip
    assert vanished_parts(_stored(unnamed, before)) == ()
    assert vanished_parts({"changes": []}) == () and vanished_parts({}) == ()


def test_one_path_of_a_multipath_disk_gone_is_not_the_disk_vanished() -> None:
    before = rocky()
    disk = next(disk for disk in before.disks if disk.serial)
    two_paths = replace(before, disks=(*before.disks, replace(disk, name="sdy", mounts=())))
    after = replace(before, disks=(*before.disks,))
    stored = _stored(two_paths, after)
    assert [part.serial for part in vanished_parts(stored)] == [disk.serial]  # the diff alone
    assert vanished_parts(stored, serials_of(after)) == ()
    assert serials_of(replace(before, disks=None)) == frozenset()
