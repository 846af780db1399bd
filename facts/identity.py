"""Is the "after" snapshot the same machine as the "before" one? The verdict and its evidence.

Five signs, each `same`, `partly` (a set that kept some members), `changed`, or
`not_compared` (null or none on a side: no evidence either way). Hardware: the DMI serial,
the MACs, the disk serials. Software: the machine-id and the SSH host keys. The hostname is
no sign: names are given to machines, not born with them.

- `unknown`: no sign could be compared;
- `same`: every sign compared is the same;
- `different`: no sign compared links the two (same or partly), or at least two hardware
  signs were compared and none links (the OS was cloned or carried onto other hardware);
- `changed`: the same machine with parts changed (a disk or a NIC swapped, a reinstall).

>>> identity_verdict(before, after).verdict                      # doctest: +SKIP
'changed'
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pelihara.facts.changes import Evidence, IdentityVerdict
from pelihara.facts.keys import collection
from pelihara.facts.model import Facts

HARDWARE = ("dmi_serial", "macs", "disk_serials")
LINKS = {"same", "partly"}


def _value_evidence(name: str, before: str | None, after: str | None) -> Evidence:
    if before is None or after is None:
        return Evidence(name, "not_compared", before, after)
    return Evidence(name, "same" if before == after else "changed", before, after)


def _set_evidence(
    name: str, facts: tuple[Facts, Facts], members: Callable[[Facts], frozenset[str] | None]
) -> Evidence:
    before, after = (members(side) for side in facts)
    shown = (None if before is None else sorted(before), None if after is None else sorted(after))
    if not before or not after:
        return Evidence(name, "not_compared", *shown)
    if before == after:
        return Evidence(name, "same", *shown)
    return Evidence(name, "partly" if before & after else "changed", *shown)


def _host_keys(facts: Facts) -> frozenset[str] | None:
    keys = collection(facts, "ssh_host_keys")
    return None if keys is None else frozenset(f"{k.key_type} {k.fingerprint_sha256}" for k in keys)


def _macs(facts: Facts, ignored: re.Pattern[str] | None) -> frozenset[str] | None:
    """The MACs of the interfaces the rules do not ignore (a veth's MAC is new each time)."""
    interfaces = collection(facts, "interfaces")
    if interfaces is None:
        return None
    return frozenset(
        i.mac for i in interfaces if i.mac and not (ignored and ignored.fullmatch(i.name))
    )


def _disk_serials(facts: Facts) -> frozenset[str] | None:
    disks = collection(facts, "disks")
    return None if disks is None else frozenset(d.serial for d in disks if d.serial)


def identity_evidence(
    before: Facts, after: Facts, ignored_interfaces: re.Pattern[str] | None = None
) -> tuple[Evidence, ...]:
    """The five signs, software first (the ones a reinstall changes), then hardware."""
    pair = (before, after)
    return (
        _value_evidence("machine_id", before.identity.machine_id, after.identity.machine_id),
        _set_evidence("ssh_host_keys", pair, _host_keys),
        _value_evidence("dmi_serial", before.identity.dmi_serial, after.identity.dmi_serial),
        _set_evidence("macs", pair, lambda facts: _macs(facts, ignored_interfaces)),
        _set_evidence("disk_serials", pair, _disk_serials),
    )


def decide(evidence: tuple[Evidence, ...]) -> str:
    """The verdict from the evidence (the module docstring gives the rules)."""
    compared = [item for item in evidence if item.outcome != "not_compared"]
    hardware = [item for item in compared if item.name in HARDWARE]
    if not compared:
        return "unknown"
    if all(item.outcome == "same" for item in compared):
        return "same"
    if not any(item.outcome in LINKS for item in compared):
        return "different"
    if len(hardware) >= 2 and not any(item.outcome in LINKS for item in hardware):
        return "different"
    return "changed"


def identity_verdict(
    before: Facts, after: Facts, ignored_interfaces: re.Pattern[str] | None = None
) -> IdentityVerdict:
    evidence = identity_evidence(before, after, ignored_interfaces)
    return IdentityVerdict(decide(evidence), evidence)
