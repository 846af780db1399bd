"""The parts that vanished in a snapshot diff: every item removed that carried a serial.

Pure: the diff's dict form (`diff_to_dict`, as `snapshot diff --ticket` stores it) in, the
serials out. An item of a collection keyed by its serial (`keys.py`: a disk is its serial,
wherever it is plugged in) appears in the diff as a change of kind `removed` whose key is
`["serial", SERIAL]` and whose `before` holds the item; a disk moved from sda to sdb keeps
its key and is a `changed` name, never a removal.

>>> vanished_parts({"changes": [{"path": "disks", "kind": "removed",
...     "key": ["serial", "S3Z1NB0K"], "label": "sdb (S3Z1NB0K)",
...     "before": {"name": "sdb", "serial": "S3Z1NB0K", "size_bytes": 4096, "model": "X"}}]})
(VanishedPart(kind='disk', serial='S3Z1NB0K', label='sdb (S3Z1NB0K)'),)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pelihara.facts.model import Facts

# What a collection's item is called, one of it (a path not named here is said as it is).
ITEM_NAMES = {"disks": "disk"}


@dataclass(frozen=True)
class VanishedPart:
    """A part seen before and not after: KIND (`disk`), its SERIAL, LABEL as the diff shows it
    (`sdb (S3Z1NB0K)`)."""

    kind: str
    serial: str
    label: str


def _serial(change: Mapping[str, Any]) -> str | None:
    key = change.get("key") or []
    if change.get("kind") != "removed" or len(key) != 2 or key[0] != "serial":
        return None
    return str(key[1]) if key[1] else None


def serials_of(facts: Facts) -> frozenset[str]:
    """The serials of the parts FACTS saw (its disks'); empty when the disks were not read."""
    return frozenset(disk.serial for disk in facts.disks or () if disk.serial)


def vanished_parts(
    diff: Mapping[str, Any], still: frozenset[str] = frozenset()
) -> tuple[VanishedPart, ...]:
    """Every item DIFF (a stored diff's document) shows removed with a serial, once per
    serial, in the diff's order; a serial in STILL (the after side's `serials_of`) has not
    vanished: one path of a multipath disk went, the disk is there by its other path."""
    found: dict[str, VanishedPart] = {}
    for change in diff.get("changes") or ():
        serial = _serial(change)
        if serial is not None and serial not in found and serial not in still:
            kind = ITEM_NAMES.get(change["path"], change["path"])
            found[serial] = VanishedPart(kind, serial, str(change.get("label") or serial))
    return tuple(found.values())
