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


def vanished_parts(diff: Mapping[str, Any]) -> tuple[VanishedPart, ...]:
    """Every item DIFF (a stored diff's document) shows removed with a serial, once per
    serial (two paths of one multipath disk are one part), in the diff's order."""
    found: dict[str, VanishedPart] = {}
    for change in diff.get("changes") or ():
        serial = _serial(change)
        if serial is not None and serial not in found:
            kind = ITEM_NAMES.get(change["path"], change["path"])
            found[serial] = VanishedPart(kind, serial, str(change.get("label") or serial))
    return tuple(found.values())
