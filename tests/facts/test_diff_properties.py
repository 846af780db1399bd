"""Properties of the diff (hypothesis), on the recorded document and the synthetic server:
order never matters, and diff(A, B) is diff(B, A) turned around."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pelihara.core.canonical import canonical_json
from pelihara.facts.changes import FactsDiff, diff_to_dict
from pelihara.facts.model import Facts, HostKey, ListeningPort, Package, Service
from tests.facts.snapshots import diff, recorded, replace, rocky

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,  # nothing written into the repository
    suppress_health_check=[HealthCheck.too_slow],
)
BASES = st.sampled_from(["recorded", "rocky"]).map(
    lambda name: recorded() if name == "recorded" else rocky()
)
INVERSE = {"added": "removed", "removed": "added", "changed": "changed"}
STATES = ["active/running", "active/exited", "failed/failed", "inactive/dead", "running"]


def shuffled(facts: Facts, seed: int) -> Facts:
    """FACTS with every list, nested ones too, in a random order."""
    rng = random.Random(seed)

    def mix(items: tuple[Any, ...]) -> tuple[Any, ...]:
        out = list(items)
        rng.shuffle(out)
        return tuple(out)

    return replace(
        facts,
        disks=mix(tuple(replace(d, mounts=mix(d.mounts)) for d in facts.disks)),
        interfaces=mix(
            tuple(replace(i, ipv4=mix(i.ipv4), ipv6=mix(i.ipv6)) for i in facts.interfaces)
        ),
        services=mix(facts.services),
        listening_ports=mix(facts.listening_ports),
        packages=mix(facts.packages),
        ssh_host_keys=mix(facts.ssh_host_keys),
    )


@st.composite
def variants(draw: st.DrawFn, base: Facts) -> Facts:
    """BASE with a random handful of real-world edits: packages removed, upgraded and
    installed, services stopped, ports gone and new, addresses, a disk swapped, a reboot,
    memory, a host key."""
    name = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=2, max_size=12)
    version = st.text("0123456789.-~+abc", min_size=1, max_size=8)
    packages = [p for p in base.packages if draw(st.integers(0, 9)) > 0]
    packages = [
        replace(p, version=draw(version)) if draw(st.integers(0, 19)) == 0 else p for p in packages
    ]
    packages += [Package(draw(name), draw(version), "dpkg") for _ in range(draw(st.integers(0, 3)))]
    services = [
        replace(s, state=draw(st.sampled_from(STATES))) if draw(st.booleans()) else s
        for s in base.services
        if draw(st.integers(0, 9)) > 0
    ]
    services += [
        Service(draw(name), draw(st.sampled_from(STATES)), "systemd")
        for _ in range(draw(st.integers(0, 2)))
    ]
    ports = [p for p in base.listening_ports if draw(st.booleans())]
    ports += [
        ListeningPort(
            draw(st.sampled_from(["tcp", "udp"])),
            "127.0.0.1",
            draw(st.integers(1, 65535)),
            draw(st.none() | name),
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    interfaces = [
        replace(i, ipv4=(f"10.9.{draw(st.integers(0, 3))}.1",)) if draw(st.booleans()) else i
        for i in base.interfaces
    ]
    disks = [
        replace(d, serial=draw(name)) if draw(st.integers(0, 3)) == 0 else d for d in base.disks
    ]
    keys = [
        HostKey(k.key_type, f"SHA256:{draw(name)}") if draw(st.integers(0, 3)) == 0 else k
        for k in base.ssh_host_keys
    ]
    boot = base.identity.boot_time
    assert boot is not None
    return replace(
        base,
        identity=replace(
            base.identity, boot_time=boot + timedelta(seconds=draw(st.integers(0, 9000)))
        ),
        memory_total_bytes=draw(st.sampled_from([base.memory_total_bytes, 64 * 1024**3])),
        packages=tuple(packages),
        services=tuple(services),
        listening_ports=tuple(ports),
        interfaces=tuple(interfaces),
        disks=tuple(disks),
        ssh_host_keys=tuple(keys),
    )


def changes(result: FactsDiff) -> list[tuple[str, ...]]:
    return sorted(
        (
            c.path,
            canonical_json(list(c.key)),
            c.field or "",
            c.kind,
            canonical_json(c.before),
            canonical_json(c.after),
        )
        for c in result.changes
    )


def turned_around(result: FactsDiff) -> list[tuple[str, ...]]:
    """The changes as diff(B, A) must give them: added <-> removed, before <-> after."""
    return sorted(
        (
            c.path,
            canonical_json(list(c.key)),
            c.field or "",
            INVERSE[c.kind],
            canonical_json(c.after),
            canonical_json(c.before),
        )
        for c in result.changes
    )


@SETTINGS
@given(base=BASES, seed=st.integers())
def test_a_snapshot_against_itself_shuffled_is_empty(base: Facts, seed: int) -> None:
    assert diff(base, base).changes == ()
    assert diff(base, shuffled(base, seed)).changes == ()
    assert diff(shuffled(base, seed), base).identity.verdict == "same"


@SETTINGS
@given(data=st.data(), base=BASES)
def test_diff_b_a_is_diff_a_b_turned_around(data: st.DataObject, base: Facts) -> None:
    other = data.draw(variants(base))
    forward, backward = diff(base, other), diff(other, base)
    assert changes(backward) == turned_around(forward)


@SETTINGS
@given(data=st.data(), base=BASES, seed=st.integers())
def test_the_order_of_either_side_never_changes_the_diff(
    data: st.DataObject, base: Facts, seed: int
) -> None:
    other = data.draw(variants(base))
    plain = canonical_json(diff_to_dict(diff(base, other)))
    assert (
        canonical_json(diff_to_dict(diff(shuffled(base, seed), shuffled(other, seed + 1)))) == plain
    )


@SETTINGS
@given(data=st.data(), base=BASES)
def test_every_edit_shows_and_nothing_else(data: st.DataObject, base: Facts) -> None:
    """The property tests above pass for a diff that reports nothing: here, an edited
    package list gives exactly its edits."""
    gone = data.draw(st.sets(st.sampled_from([p.name for p in base.packages]), max_size=5))
    after = replace(base, packages=tuple(p for p in base.packages if p.name not in gone))
    removed = {c.label for c in diff(base, after).changes}
    assert removed == gone
