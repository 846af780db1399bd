"""Intents: their YAML and dict forms, and each change marked expected or not."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pelihara.core.errors import InputError
from pelihara.facts.changes import diff_to_dict
from pelihara.facts.intents import (
    ACTIONS,
    Reinstall,
    ReplaceDisk,
    SetMemory,
    UpgradePackage,
    intents_from_dict,
    intents_to_dict,
)
from pelihara.facts.model import Disk, Package
from tests.facts.snapshots import diff, edit, intents, recorded, replace, rocky

EVERY_ACTION = """\
  - {action: replace_disk, serial: "00123", by: S3Z1NB0X}
  - {action: set_memory, total_gb: 64}
  - {action: upgrade_package, name: openssl, version: 1.10}
  - {action: install_package, name: htop}
  - {action: remove_package, name: telnet}
  - {action: reinstall, note: new OS on the same hardware}
  - {action: reboot}
  - {action: add_address, address: 10.20.30.77, interface: eno1}
  - {action: remove_address, address: "2001:db8:20:0::41"}
  - {action: stop_service, name: ntpd.service}
"""


def refused(text: str) -> list[str]:
    with pytest.raises(InputError) as caught:
        intents(text)
    assert caught.value.outcome == "the intents were not used"
    return [str(problem) for problem in caught.value.problems]


def test_every_action_reads_from_yaml_as_written() -> None:
    read = intents(EVERY_ACTION)
    assert [item.action for item in read.items] == list(ACTIONS)
    assert read.items[0] == ReplaceDisk(serial="00123", by="S3Z1NB0X")  # not 123
    assert read.items[2] == UpgradePackage(name="openssl", version="1.10")  # not 1.1
    assert read.items[1] == SetMemory(total_gb=64.0)
    assert read.items[5] == Reinstall(note="new OS on the same hardware")
    assert read.items[8].to_dict() == {"action": "remove_address", "address": "2001:db8:20::41"}


def test_the_dict_form_a_ticket_stores_reads_back_equal() -> None:
    read = intents(EVERY_ACTION)
    stored = intents_to_dict(read)
    assert stored["version"] == 1
    assert stored["intents"][1] == {"action": "set_memory", "total_gb": 64}
    assert intents_from_dict(stored, "ticket T-1").items == read.items


def test_malformed_intents_are_named_by_field() -> None:
    problems = refused(
        "  - {action: replace_disk, serial: X}\n"
        "  - {action: defragment}\n"
        "  - {action: add_address, address: 10.0.0.1/24}\n"
        "  - {action: set_memory, total_gb: lots}\n"
        "  - {action: reboot, when: now}\n"
    )
    assert problems == [
        "intents.yaml [intents[0].by]: missing",
        "intents.yaml [intents[1].action]: expected one of "
        + ", ".join(ACTIONS)
        + ", got 'defragment'",
        "intents.yaml [intents[2].address]: not an IP address: '10.0.0.1/24'",
        "intents.yaml [intents[3].total_gb]: expected a number >= 0.001, got 'lots'",
        "intents.yaml [intents[4].when]: unknown field (known: action, note)",
    ]


def test_without_intents_nothing_is_expected_or_missing() -> None:
    before = rocky()
    after = replace(before, packages=before.packages[1:])
    result = diff(before, after)
    assert [c.expected for c in result.changes] == [None]
    assert result.missing_intents == ()


def test_each_change_is_marked_and_each_intent_not_seen_is_missing() -> None:
    before = rocky()
    after = replace(
        before,
        packages=(
            *edit(before.packages, lambda p: p.name == "nginx", version="1.20.1-16.el9_4"),
            Package("htop", "3.3.0-1.el9", "rpm"),
        ),
        services=edit(
            before.services, lambda s: s.name == "chronyd.service", state="inactive/dead"
        ),
    )
    declared = intents(
        "  - {action: upgrade_package, name: nginx}\n"
        "  - {action: install_package, name: htop}\n"
        "  - {action: remove_package, name: telnet}\n"
    )
    result = diff(before, after, declared)
    assert [(c.rule, c.label, c.expected) for c in result.changes] == [
        ("services.stopped", "chronyd.service", False),
        ("packages.added", "htop", True),
        ("packages.version", "nginx", True),
    ]
    assert [item.to_dict() for item in result.missing_intents] == [
        {"action": "remove_package", "name": "telnet"}
    ]
    assert [c.label for c in result.unexpected()] == ["chronyd.service"]
    assert diff_to_dict(result)["missing_intents"] == [
        {"action": "remove_package", "name": "telnet"}
    ]


def test_an_upgrade_to_another_version_than_declared_is_unexpected_and_missing() -> None:
    before = rocky()
    after = replace(
        before, packages=edit(before.packages, lambda p: p.name == "nginx", version="2")
    )
    result = diff(
        before, after, intents("  - {action: upgrade_package, name: nginx, version: '3'}\n")
    )
    assert [c.expected for c in result.changes] == [False]
    assert len(result.missing_intents) == 1


def test_a_reinstall_makes_new_host_keys_and_machine_id_expected_and_info() -> None:
    before = rocky()
    after = replace(
        before,
        identity=replace(before.identity, machine_id="0" * 32),
        ssh_host_keys=edit(before.ssh_host_keys, lambda k: True, fingerprint_sha256="SHA256:new"),
    )
    bare = diff(before, after)
    assert {(c.severity, c.expected) for c in bare.changes} == {("high", None)}
    declared = diff(before, after, intents("  - {action: reinstall}\n"))
    assert len(declared.changes) == 4
    assert {(c.severity, c.expected) for c in declared.changes} == {("info", True)}
    assert declared.unexpected() == () and declared.missing_intents == ()


def test_a_disk_replacement_is_seen_only_when_the_old_went_and_the_new_came() -> None:
    before = rocky()
    old = "PHAB123400AB1P6AGN"
    swapped = replace(before, disks=edit(before.disks, lambda d: d.serial == old, serial="NEW1"))
    pulled = replace(before, disks=tuple(d for d in before.disks if d.serial != old))
    intent = f"  - {{action: replace_disk, serial: {old}, by: NEW1}}\n"
    done = diff(before, swapped, intents(intent))
    assert [c.expected for c in done.changes] == [True, True] and done.missing_intents == ()
    half = diff(before, pulled, intents(intent))
    assert [(c.rule, c.expected) for c in half.changes if c.path == "disks"] == [
        ("disks.removed", True)
    ]
    assert [i.action for i in half.missing_intents] == ["replace_disk"]
    assert all(not c.expected for c in half.changes if c.path == "mounts")  # its mounts went too
    other = diff(
        before, replace(before, disks=(*before.disks, Disk("sdz", serial="OTHER"))), intents(intent)
    )
    assert [c.expected for c in other.changes] == [False]


def test_memory_to_64_gb_is_seen_when_memtotal_reads_a_little_under() -> None:
    before = recorded()
    after = replace(before, memory_total_bytes=67_108_864_000 - 1_400_000_000)  # ~62.2 GiB
    declared = intents("  - {action: set_memory, total_gb: 64}\n")
    assert [c.expected for c in diff(before, after, declared).changes] == [True]
    wrong = replace(before, memory_total_bytes=32 * 1024**3)
    result = diff(before, wrong, declared)
    assert [c.expected for c in result.changes] == [False] and len(result.missing_intents) == 1


def test_addresses_services_and_reboot_intents() -> None:
    before = rocky()
    boot = before.identity.boot_time
    assert boot is not None
    after = replace(
        before,
        identity=replace(before.identity, boot_time=boot + timedelta(days=1)),
        interfaces=edit(
            before.interfaces,
            lambda i: i.name == "eno1",
            ipv4=("10.20.30.9", "10.20.30.77"),
            ipv6=("fe80::b27b:25ff:fede:ad01",),
        ),
        services=edit(before.services, lambda s: s.name == "nginx.service", state="inactive/dead"),
    )
    declared = intents(
        "  - {action: add_address, address: 10.20.30.77, interface: eno1}\n"
        "  - {action: remove_address, address: 10.20.30.41}\n"
        "  - {action: remove_address, address: '2001:db8:20::41'}\n"
        "  - {action: stop_service, name: nginx.service}\n"
        "  - {action: reboot}\n"
    )
    result = diff(before, after, declared)
    assert len(result.changes) == 5
    assert all(c.expected for c in result.changes) and result.missing_intents == ()
    wrong_card = intents("  - {action: add_address, address: 10.20.30.77, interface: eno2}\n")
    marks = {c.label: c.expected for c in diff(before, after, wrong_card).changes}
    assert marks["10.20.30.77"] is False
