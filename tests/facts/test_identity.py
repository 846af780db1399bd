"""The identity verdict: same machine, same machine with parts changed, different machine."""

from __future__ import annotations

from pelihara.facts.changes import Evidence
from pelihara.facts.identity import decide
from pelihara.facts.model import Facts, Identity
from tests.facts.snapshots import diff, edit, recorded, replace, rocky


def outcomes(before: Facts, after: Facts) -> dict[str, str]:
    return {item.name: item.outcome for item in diff(before, after).identity.evidence}


def test_the_same_server_is_the_same_machine_with_its_evidence() -> None:
    result = diff(rocky(), rocky()).identity
    assert result.verdict == "same"
    assert [(e.name, e.outcome) for e in result.evidence] == [
        ("machine_id", "same"),
        ("ssh_host_keys", "same"),
        ("dmi_serial", "same"),
        ("macs", "same"),
        ("disk_serials", "same"),
    ]
    assert result.evidence[2].before == "7XK2M53"


def test_a_reinstall_on_the_same_hardware_is_the_same_machine_changed() -> None:
    before = rocky()
    after = replace(
        before,
        identity=replace(before.identity, machine_id="f" * 32),
        ssh_host_keys=edit(before.ssh_host_keys, lambda k: True, fingerprint_sha256="SHA256:x"),
    )
    assert diff(before, after).identity.verdict == "changed"
    assert outcomes(before, after)["ssh_host_keys"] == "changed"


def test_a_disk_swapped_is_partly_the_same_disks() -> None:
    before = rocky()
    after = replace(before, disks=edit(before.disks, lambda d: d.name == "sda", serial="NEW"))
    assert outcomes(before, after)["disk_serials"] == "partly"
    assert diff(before, after).identity.verdict == "changed"


def test_another_machine_shares_nothing() -> None:
    assert diff(rocky(), recorded()).identity.verdict == "different"


def test_a_clone_on_other_hardware_is_a_different_machine() -> None:
    """The OS image copied (same machine-id and host keys) onto another chassis, disks and
    cards: two hardware signs compared, none kept."""
    before = rocky()
    after = replace(
        before,
        identity=replace(before.identity, dmi_serial="9ZZ9ZZ9"),
        interfaces=edit(before.interfaces, lambda i: i.mac is not None, mac="02:00:00:00:00:09"),
        disks=edit(before.disks, lambda d: True, serial="CLONE"),
    )
    assert diff(before, after).identity.verdict == "different"


def test_a_vm_whose_nic_was_recreated_is_the_same_machine_changed() -> None:
    """One hardware sign (the MACs) is not enough to call it another machine."""
    before = recorded()
    after = replace(
        before,
        interfaces=edit(before.interfaces, lambda i: i.mac is not None, mac="02:aa:00:00:00:01"),
    )
    assert outcomes(before, after)["macs"] == "changed"
    assert diff(before, after).identity.verdict == "changed"


def test_nothing_read_is_unknown_not_same() -> None:
    bare = Facts(identity=Identity(hostname="db01"))
    result = diff(bare, bare).identity
    assert result.verdict == "unknown"
    assert {e.outcome for e in result.evidence} == {"not_compared"}


def test_the_decision_table() -> None:
    def ev(**outcomes: str) -> tuple[Evidence, ...]:
        return tuple(Evidence(name, outcome, None, None) for name, outcome in outcomes.items())

    assert decide(ev(machine_id="same", macs="not_compared")) == "same"
    assert decide(ev(machine_id="changed", macs="partly")) == "changed"
    assert decide(ev(machine_id="changed", macs="changed")) == "different"
    assert (
        decide(ev(machine_id="same", dmi_serial="changed", disk_serials="changed")) == "different"
    )
    assert decide(ev(machine_id="same", dmi_serial="changed", disk_serials="partly")) == "changed"
