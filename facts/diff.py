"""The snapshot diff: what really changed between two facts documents of one server.

Pure: two `Facts` and the rules in, a `FactsDiff` out. Items are paired by their stable
key (`keys.py`), never by their place in a list, so a reordered list is no change; the
volatile values move within the rules' tolerances unreported; a fact not read on a side
(null) is listed as not compared, never as everything removed or added.

>>> diff = diff_facts(pre, post, default_rules, intents)                 # doctest: +SKIP
>>> [(c.rule, c.label, c.severity, c.expected) for c in diff.changes]    # doctest: +SKIP
[('services.stopped', 'nginx.service', 'high', False),
 ('packages.version', 'openssl', 'low', True)]
>>> diff.identity.verdict                                                # doctest: +SKIP
'same'
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pelihara.core.canonical import canonical_json, utc_text
from pelihara.facts.changes import Change, FactsDiff, NotCompared, rank_key
from pelihara.facts.diff_rules import COLLECTIONS, VALUES, DiffRules, rules_sha256
from pelihara.facts.identity import identity_verdict
from pelihara.facts.intents import Intent, Intents
from pelihara.facts.keys import (
    VOLATILE,
    Key,
    collection,
    disk_key,
    host_key_key,
    interface_key,
    listening_port_key,
    mount_key,
    package_key,
    service_key,
)
from pelihara.facts.model import Disk, Facts, Interface, ListeningPort, Mount


@dataclass(frozen=True)
class Address:
    """An IP address on an interface: the diff's `addresses` collection, keyed by the
    address alone, so an address moved to another interface is one change. `interface` is
    the card as keys.py knows it (its MAC, else its name), so renaming eth0 to ens3 moves no
    address; `interface_name` is shown beside it."""

    address: str
    interface: str
    interface_name: str


def _default_item_rule(path: str, kind: str, item: Any, rules: DiffRules) -> str:
    return f"{path}.{kind}"


def _default_field_rule(path: str, field: str, before: Any, after: Any, rules: DiffRules) -> str:
    return f"{path}.{field}"


def _service_item_rule(path: str, kind: str, item: Any, rules: DiffRules) -> str:
    """A running service that went is `stopped`; one that came running is `started`."""
    if not rules.is_running(item.state):
        return f"{path}.{kind}"
    return "services.stopped" if kind == "removed" else "services.started"


def _service_field_rule(path: str, field: str, before: Any, after: Any, rules: DiffRules) -> str:
    if field != "state" or rules.is_running(before) == rules.is_running(after):
        return f"{path}.{field}"
    return "services.stopped" if rules.is_running(before) else "services.started"


@dataclass(frozen=True)
class Collection:
    """How one collection is read, paired and shown; `fields` are compared (diff_rules)."""

    path: str
    read: Callable[[Facts], tuple[Any, ...] | None]
    key: Callable[[Any], Key]
    label: Callable[[Any], str]
    shown: tuple[str, ...]  # the fields of an added or removed item's value
    item_rule: Callable[[str, str, Any, DiffRules], str] = _default_item_rule
    field_rule: Callable[[str, str, Any, Any, DiffRules], str] = _default_field_rule

    @property
    def fields(self) -> tuple[str, ...]:
        return COLLECTIONS[self.path]


def _mounts(facts: Facts) -> tuple[Mount, ...] | None:
    """Every disk's mounts; None when the disks or their mounts were not read (one tool,
    findmnt, reads the mounts of all disks: schema 2's `Disk.mounts` None)."""
    disks: tuple[Disk, ...] | None = collection(facts, "disks")
    if disks is None or any(disk.mounts is None for disk in disks):
        return None
    return tuple(m for disk in disks for m in disk.mounts or ())


def _addresses(facts: Facts) -> tuple[Address, ...] | None:
    interfaces = collection(facts, "interfaces")
    if interfaces is None:
        return None
    return tuple(
        Address(a, i.mac or i.name, i.name) for i in interfaces for a in (*i.ipv4, *i.ipv6)
    )


def _reader(name: str) -> Callable[[Facts], tuple[Any, ...] | None]:
    return lambda facts: collection(facts, name)


def _disk_label(disk: Disk) -> str:
    return f"{disk.name} ({disk.serial})" if disk.serial else disk.name


def _interface_label(interface: Interface) -> str:
    return f"{interface.name} ({interface.mac})" if interface.mac else interface.name


def _port_label(port: ListeningPort) -> str:
    address = f"[{port.address}]" if ":" in port.address else port.address
    return f"{port.protocol} {address}:{port.port}"


SPECS: tuple[Collection, ...] = (
    Collection("disks", _reader("disks"), disk_key, _disk_label,
               ("name", "serial", "size_bytes", "model")),
    Collection("mounts", _mounts, mount_key, lambda m: m.path,
               ("path", "device", "fstype", "total_bytes", "used_bytes")),
    Collection("interfaces", _reader("interfaces"), interface_key, _interface_label,
               ("name", "mac", "is_up", "speed_mbps")),
    Collection("addresses", _addresses, lambda a: (a.address,), lambda a: a.address,
               ("address", "interface", "interface_name")),
    Collection("services", _reader("services"), service_key, lambda s: s.name,
               ("name", "state", "source"), _service_item_rule, _service_field_rule),
    Collection("listening_ports", _reader("listening_ports"), listening_port_key, _port_label,
               ("protocol", "address", "port", "process")),
    Collection("packages", _reader("packages"), package_key, lambda p: p.name,
               ("name", "version", "manager")),
    Collection("ssh_host_keys", _reader("ssh_host_keys"), host_key_key, lambda k: k.key_type,
               ("key_type", "fingerprint_sha256")),
)  # fmt: skip


def _plain(value: Any) -> Any:
    return utc_text(value) if isinstance(value, datetime) else value


def _side(before: object, after: object) -> str:
    if before is None and after is None:
        return "both"
    return "before" if before is None else "after"


# --- tolerances: how far a volatile value may move unreported ---------------------------


def _percent_of_larger(before: int, after: int) -> float:
    larger = max(abs(before), abs(after))
    return 0.0 if larger == 0 else abs(after - before) * 100 / larger


def _memory_within(before: Any, after: Any, owners: tuple[Any, Any], rules: DiffRules) -> bool:
    return bool(_percent_of_larger(before, after) <= rules.tolerances["memory_total_percent"])


def _boot_within(before: Any, after: Any, owners: tuple[Any, Any], rules: DiffRules) -> bool:
    seconds = abs((after - before).total_seconds())
    return bool(seconds <= rules.tolerances["boot_time_seconds"])


def _used_within(before: Any, after: Any, owners: tuple[Any, Any], rules: DiffRules) -> bool:
    """Used bytes, in points of the mount's size (the larger side's: a resize counts too)."""
    total: int = max(owner.total_bytes or 0 for owner in owners)
    if total == 0:  # no size to measure against: the value says nothing
        return True
    moved: int = abs(after - before)
    return moved * 100 / total <= rules.tolerances["mount_used_percent"]


TOLERATED: dict[str, Callable[[Any, Any, tuple[Any, Any], DiffRules], bool]] = {
    "memory_total_bytes": _memory_within,
    "identity.boot_time": _boot_within,
    "mounts.used_bytes": _used_within,
}
LABELS = {"identity.boot_time": "reboot"}


class _Found:
    """The changes and the unread facts of one diff, as they are found."""

    def __init__(self, rules: DiffRules) -> None:
        self.rules = rules
        self.changes: list[Change] = []
        self.unread: Counter[tuple[str, str]] = Counter()

    def add(self, where: tuple[str, Key, str], kind: str, field: str | None,
            values: tuple[Any, Any], rule: str) -> None:  # fmt: skip
        path, key, label = where
        ruled = self.rules.changes[rule]
        before, after = values
        self.changes.append(Change(path, key, label, kind, field, before, after, rule,
                                   ruled.category, ruled.severity))  # fmt: skip

    def moved(self, path: str, before: Any, after: Any, owners: tuple[Any, Any]) -> bool:
        """True when the value changed beyond its tolerance; a null side is noted unread."""
        if before == after:
            return False
        if before is None or after is None:
            self.unread[(path, _side(before, after))] += 1
            return False
        tolerated = TOLERATED.get(path)
        return not (tolerated and tolerated(before, after, owners, self.rules))


# --- single values ------------------------------------------------------------------------


def _owner(facts: Facts, path: str) -> Any:
    """The object holding PATH's value: `identity.machine_id` -> facts.identity."""
    parts = path.split(".")
    return getattr(facts, parts[0]) if len(parts) == 2 else facts


def _compare_values(before: Facts, after: Facts, found: _Found) -> None:
    for path in VALUES:
        field = path.rsplit(".", 1)[-1]
        owners = (_owner(before, path), _owner(after, path))
        old, new = (getattr(owner, field) for owner in owners)
        if old is None or new is None:
            found.unread[(path, _side(old, new))] += 1
        elif found.moved(path, old, new, owners):
            where = (path, (), LABELS.get(path, path))
            found.add(where, "changed", None, (_plain(old), _plain(new)), path)


# --- collections, paired by key -----------------------------------------------------------


def _compare_collection(spec: Collection, before: Facts, after: Facts, found: _Found) -> None:
    olds, news = spec.read(before), spec.read(after)
    if olds is None or news is None:
        found.unread[(spec.path, _side(olds, news))] += 1
        return
    ignored = found.rules.ignored(spec.path)
    grouped_before = _grouped(spec, olds, ignored)
    grouped_after = _grouped(spec, news, ignored)
    for key in grouped_before.keys() | grouped_after.keys():
        group = (grouped_before.get(key, []), grouped_after.get(key, []))
        if group[0] != group[1]:
            _compare_group(spec, key, group, found)


def _grouped(spec: Collection, items: Iterable[Any], ignored: Any) -> dict[Key, list[Any]]:
    """Items by key (several may share one: two kernels, a bond's MAC); ignored labels out."""
    groups: dict[Key, list[Any]] = {}
    for item in items:
        if ignored is None or not ignored.fullmatch(spec.label(item)):
            groups.setdefault(spec.key(item), []).append(item)
    return groups


def _compare_group(spec: Collection, key: Key, group: tuple[list[Any], list[Any]],
                   found: _Found) -> None:  # fmt: skip
    """One item each side: field by field. Several: the equal ones drop out, then one left
    each side is compared field by field, and any other is removed or added."""
    olds, news = group
    if len(olds) != 1 or len(news) != 1:
        olds, news = _unmatched(spec, olds, news)
    if len(olds) == 1 and len(news) == 1:
        _compare_items(spec, key, olds[0], news[0], found)
        return
    for kind, items in (("removed", olds), ("added", news)):
        for item in items:
            value = _item_value(spec, item)
            values = (value, None) if kind == "removed" else (None, value)
            rule = spec.item_rule(spec.path, kind, item, found.rules)
            found.add((spec.path, key, spec.label(item)), kind, None, values, rule)


def _significant(spec: Collection, item: Any) -> tuple[Any, ...]:
    volatile = VOLATILE.get(type(item), frozenset())
    return tuple(getattr(item, name) for name in spec.shown if name not in volatile)


def _unmatched(spec: Collection, olds: list[Any], news: list[Any]) -> tuple[list[Any], list[Any]]:
    """The items of a shared key that have no equal on the other side, in a stable order."""
    common = Counter(_significant(spec, i) for i in olds) & Counter(
        _significant(spec, i) for i in news
    )
    left = []
    for items in (olds, news):
        spare = common.copy()
        kept = []
        for item in items:
            significant = _significant(spec, item)
            if spare[significant] > 0:
                spare[significant] -= 1
            else:
                kept.append(item)
        left.append(sorted(kept, key=lambda item: canonical_json(_item_value(spec, item))))
    return left[0], left[1]


def _compare_items(spec: Collection, key: Key, old: Any, new: Any, found: _Found) -> None:
    where = (spec.path, key, spec.label(old))
    for field in spec.fields:
        before, after = getattr(old, field), getattr(new, field)
        if found.moved(f"{spec.path}.{field}", before, after, (old, new)):
            rule = spec.field_rule(spec.path, field, before, after, found.rules)
            found.add(where, "changed", field, (before, after), rule)


def _item_value(spec: Collection, item: Any) -> dict[str, Any]:
    return {name: _plain(getattr(item, name)) for name in spec.shown}


# --- the whole diff -----------------------------------------------------------------------


def _with_intents(
    changes: list[Change], intents: Intents | None, rules: DiffRules
) -> tuple[list[Change], tuple[Intent, ...]]:
    """Each change marked expected or not, with its `when_expected` severity; the intents
    not seen. Without intents, `expected` stays None and nothing is missing."""
    if intents is None:
        return changes, ()
    marked = []
    for change in changes:
        expected = any(intent.covers(change, rules) for intent in intents.items)
        lowered = rules.changes[change.rule].when_expected if expected else None
        severity = lowered or change.severity
        marked.append(dataclasses.replace(change, expected=expected, severity=severity))
    missing = tuple(intent for intent in intents.items if not intent.seen(changes, rules))
    return marked, missing


def diff_facts(
    before: Facts, after: Facts, rules: DiffRules, intents: Intents | None = None
) -> FactsDiff:
    """Every change from BEFORE to AFTER, classified by RULES and marked against INTENTS,
    ranked worst first; the identity verdict; the intents not seen; what was not compared."""
    found = _Found(rules)
    _compare_values(before, after, found)
    for spec in SPECS:
        _compare_collection(spec, before, after, found)
    changes, missing = _with_intents(found.changes, intents, rules)
    unread = sorted(NotCompared(path, side, count) for (path, side), count in found.unread.items())
    return FactsDiff(
        changes=tuple(sorted(changes, key=rank_key)),
        identity=identity_verdict(before, after, rules.ignored("interfaces")),
        missing_intents=missing,
        not_compared=tuple(unread),
        rules_source=rules.source,
        rules_sha256=rules_sha256(rules),
    )
