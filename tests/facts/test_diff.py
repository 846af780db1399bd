"""The matching rules of the snapshot diff, on the recorded VM document and the synthetic
Rocky server, each variant made by editing a copy so the edit is the only change."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pelihara.core.canonical import canonical_json, sha256_hex
from pelihara.facts.changes import NotCompared, diff_to_dict
from pelihara.facts.diff import diff_facts
from pelihara.facts.diff_rules import rules_from_dict, rules_to_dict
from pelihara.facts.model import Interface, ListeningPort, Package, Service
from tests.facts.snapshots import diff, edit, recorded, replace, rocky, rows, rules, rules_of


def reversed_lists(facts: Any) -> Any:
    """FACTS with every list in reverse order, the disks' mounts and addresses too."""
    disks = tuple(replace(d, mounts=d.mounts[::-1]) for d in facts.disks[::-1])
    interfaces = tuple(
        replace(i, ipv4=i.ipv4[::-1], ipv6=i.ipv6[::-1]) for i in facts.interfaces[::-1]
    )
    return replace(
        facts,
        disks=disks,
        interfaces=interfaces,
        services=facts.services[::-1],
        listening_ports=facts.listening_ports[::-1],
        packages=facts.packages[::-1],
        ssh_host_keys=facts.ssh_host_keys[::-1],
    )


# --- nothing changed ----------------------------------------------------------------------


def test_a_recorded_snapshot_against_itself_is_empty_and_the_same_machine() -> None:
    for facts in (recorded(), rocky()):
        result = diff(facts, facts)
        assert result.changes == () and result.missing_intents == ()
        assert result.identity.verdict == "same"


def test_reordered_lists_are_no_change() -> None:
    for facts in (recorded(), rocky()):
        assert reversed_lists(facts) != facts
        assert diff(facts, reversed_lists(facts)).changes == ()


def test_the_time_of_the_snapshot_is_no_change() -> None:
    facts = recorded()
    later = replace(facts, collected_at=facts.collected_at + timedelta(hours=3))
    assert diff(facts, later).changes == ()


# --- disks and mounts ---------------------------------------------------------------------


def test_a_disk_in_another_slot_is_the_same_disk_renamed() -> None:
    before = rocky()
    after = replace(before, disks=edit(before.disks, lambda d: d.name == "sda", name="sdc"))
    assert rows(diff(before, after)) == [
        (
            "disks.name",
            "sda (0012a3b4c5d6e7f82400b0a1b2c3d4e5)",
            "changed",
            "name",
            "sda",
            "sdc",
            "info",
        ),
    ]


def test_a_disk_swapped_for_another_serial_is_removed_and_added() -> None:
    before = rocky()
    after = replace(
        before, disks=edit(before.disks, lambda d: d.name == "nvme0n1", serial="PHAB999900")
    )
    result = diff(before, after)
    assert [(c.rule, c.key, c.category, c.severity) for c in result.changes] == [
        ("disks.removed", ("serial", "PHAB123400AB1P6AGN"), "storage", "warning"),
        ("disks.added", ("serial", "PHAB999900"), "storage", "warning"),
    ]
    assert result.changes[0].before["model"] == "Dell Ent NVMe P5600 MU U.2 1.6TB"


def test_a_disk_without_a_serial_is_matched_by_name() -> None:
    before = recorded()
    after = replace(before, disks=edit(before.disks, lambda d: True, size_bytes=549755813888))
    assert rows(diff(before, after)) == [
        ("disks.size_bytes", "vda", "changed", "size_bytes", 274877906944, 549755813888, "warning"),
    ]


def mounts_edited(facts: Any, path: str, **changes: Any) -> Any:
    disks = tuple(
        replace(d, mounts=edit(d.mounts, lambda m: m.path == path, **changes)) for d in facts.disks
    )
    return replace(facts, disks=disks)


def test_mount_usage_within_the_tolerance_is_no_change_beyond_it_is_low() -> None:
    before = recorded()  # / is 270553174016 bytes, 25978822656 used
    little = mounts_edited(before, "/", used_bytes=25978822656 + 10 * 1024**3)  # ~4 points
    assert diff(before, little).changes == ()
    much = mounts_edited(before, "/", used_bytes=25978822656 + 20 * 1024**3)  # ~8 points
    assert rows(diff(before, much)) == [
        ("mounts.used_bytes", "/", "changed", "used_bytes", 25978822656, 47453659136, "low"),
    ]


def test_a_mount_on_a_new_device_and_a_mount_gone() -> None:
    before = rocky()
    moved = mounts_edited(before, "/home", device="/dev/mapper/rl-home2")
    gone = replace(before, disks=edit(before.disks, lambda d: d.name == "nvme0n1", mounts=()))
    assert rules_of(diff(before, moved)) == ["mounts.device"]
    result = diff(before, gone)
    assert sorted((c.rule, c.label, c.severity) for c in result.changes) == [
        ("mounts.removed", "/data", "warning"),
        ("mounts.removed", "/var/lib/containers", "warning"),
    ]


# --- interfaces and addresses -------------------------------------------------------------


def test_an_interface_renamed_is_the_same_card_and_keeps_its_addresses() -> None:
    before = recorded()
    after = replace(
        before, interfaces=edit(before.interfaces, lambda i: i.name == "eth0", name="ens3")
    )
    result = diff(before, after)
    assert [(c.rule, c.before, c.after, c.category) for c in result.changes] == [
        ("interfaces.name", "eth0", "ens3", "network"),  # its three addresses stay with it
    ]


def test_addresses_added_removed_and_moved_are_network_changes() -> None:
    before = rocky()
    eno1 = lambda i: i.name == "eno1"  # noqa: E731
    added = replace(
        before,
        interfaces=edit(before.interfaces, eno1, ipv4=("10.20.30.9", "10.20.30.41", "10.20.30.77")),
    )
    removed = replace(before, interfaces=edit(before.interfaces, eno1, ipv4=("10.20.30.9",)))
    assert rows(diff(before, added)) == [
        (
            "addresses.added",
            "10.20.30.77",
            "added",
            None,
            None,
            {"address": "10.20.30.77", "interface": "b0:7b:25:de:ad:01", "interface_name": "eno1"},
            "warning",
        ),
    ]
    assert [(c.rule, c.label, c.severity) for c in diff(before, removed).changes] == [
        ("addresses.removed", "10.20.30.41", "high"),
    ]
    moved = replace(
        before,
        interfaces=edit(
            edit(before.interfaces, eno1, ipv4=("10.20.30.9",)),
            lambda i: i.name == "eno2",
            ipv4=("10.20.30.41",),
        ),
    )
    assert rows(diff(before, moved)) == [
        (
            "addresses.interface",
            "10.20.30.41",
            "changed",
            "interface",
            "b0:7b:25:de:ad:01",
            "b0:7b:25:de:ad:02",
            "warning",
        ),
    ]


def test_an_interface_down_and_a_slower_link_are_warnings() -> None:
    before = rocky()
    after = replace(
        before,
        interfaces=edit(before.interfaces, lambda i: i.name == "eno1", is_up=False, speed_mbps=100),
    )
    assert [(c.rule, c.before, c.after, c.severity) for c in diff(before, after).changes] == [
        ("interfaces.is_up", True, False, "warning"),
        ("interfaces.speed_mbps", 1000, 100, "warning"),
    ]


def test_a_new_veth_is_ignored_by_the_default_rules_a_new_tap_is_not() -> None:
    before = recorded()
    veth = Interface(name="veth3f2a1b", mac="aa:bb:cc:00:11:22", is_up=True)
    tap = Interface(name="pltest0", mac="aa:bb:cc:00:11:23", is_up=True, ipv4=("192.0.2.77",))
    assert diff(before, replace(before, interfaces=(*before.interfaces, veth))).changes == ()
    result = diff(before, replace(before, interfaces=(*before.interfaces, tap)))
    assert rules_of(result) == ["addresses.added", "interfaces.added"]


# --- services, ports, packages, host keys -------------------------------------------------


def test_a_service_that_ran_and_failed_is_high() -> None:
    before = rocky()
    after = replace(
        before,
        services=edit(before.services, lambda s: s.name == "nginx.service", state="failed/failed"),
    )
    assert rows(diff(before, after)) == [
        (
            "services.stopped",
            "nginx.service",
            "changed",
            "state",
            "active/running",
            "failed/failed",
            "high",
        ),
    ]


def test_a_running_service_gone_is_high_an_inactive_one_gone_is_low() -> None:
    before = rocky()
    without = lambda name: replace(  # noqa: E731
        before, services=tuple(s for s in before.services if s.name != name)
    )
    assert [(c.rule, c.severity) for c in diff(before, without("sshd.service")).changes] == [
        ("services.stopped", "high"),
    ]
    assert [(c.rule, c.severity) for c in diff(before, without("ntpd.service")).changes] == [
        ("services.removed", "low"),
    ]


def test_between_two_states_that_do_not_run_is_low_and_starting_is_low() -> None:
    before = rocky()
    failed_to_dead = replace(
        before,
        services=edit(before.services, lambda s: s.name == "kdump.service", state="inactive/dead"),
    )
    started = replace(
        before,
        services=edit(before.services, lambda s: s.name == "ntpd.service", state="active/running"),
    )
    assert [(c.rule, c.severity) for c in diff(before, failed_to_dead).changes] == [
        ("services.state", "low"),
    ]
    assert [(c.rule, c.severity) for c in diff(before, started).changes] == [
        ("services.started", "low"),
    ]


def test_a_process_gone_where_there_is_no_systemd_is_high_a_kernel_thread_is_ignored() -> None:
    before = replace(
        recorded(), services=(*recorded().services, Service("nginx", "running", "process"))
    )
    after = replace(
        before, services=tuple(s for s in before.services if s.name not in {"nginx", "kworker/1:1"})
    )
    assert [(c.rule, c.label, c.severity) for c in diff(before, after).changes] == [
        ("services.stopped", "nginx", "high"),
    ]


def test_a_port_that_stopped_listening_is_high_a_new_one_a_warning() -> None:
    before = rocky()
    after = replace(
        before,
        listening_ports=(
            *(p for p in before.listening_ports if p.port != 443),
            ListeningPort("tcp", "127.0.0.1", 9100, "node_exporter"),
        ),
    )
    assert [(c.rule, c.label, c.category, c.severity) for c in diff(before, after).changes] == [
        ("listening_ports.removed", "tcp [::]:443", "ports", "high"),
        ("listening_ports.added", "tcp 127.0.0.1:9100", "ports", "warning"),
    ]


def test_another_program_on_a_port_is_a_warning_an_unknown_owner_is_not_compared() -> None:
    before = rocky()
    other = replace(
        before,
        listening_ports=edit(before.listening_ports, lambda p: p.port == 80, process="httpd"),
    )
    hidden = replace(
        before, listening_ports=edit(before.listening_ports, lambda p: p.port == 80, process=None)
    )
    assert rows(diff(before, other)) == [
        (
            "listening_ports.process",
            "tcp 0.0.0.0:80",
            "changed",
            "process",
            "nginx",
            "httpd",
            "warning",
        ),
    ]
    result = diff(before, hidden)
    assert result.changes == ()
    assert NotCompared("listening_ports.process", "after", 1) in result.not_compared


def test_packages_upgraded_installed_and_removed() -> None:
    before = recorded()
    after = replace(
        before,
        packages=(
            *edit(before.packages, lambda p: p.name == "bash", version="5.2.15-2+b9"),
            Package("htop", "3.2.2-2", "dpkg"),
        )[1:],
    )  # the first, adduser, removed
    assert [(c.rule, c.label, c.kind, c.before, c.after) for c in diff(before, after).changes] == [
        (
            "packages.removed",
            "adduser",
            "removed",
            {"manager": "dpkg", "name": "adduser", "version": "3.134"},
            None,
        ),
        ("packages.version", "bash", "changed", "5.2.15-2+b8", "5.2.15-2+b9"),
        (
            "packages.added",
            "htop",
            "added",
            None,
            {"manager": "dpkg", "name": "htop", "version": "3.2.2-2"},
        ),
    ]


def test_kernels_side_by_side_are_paired_as_a_group() -> None:
    """rpm keeps two kernels under one key: the newest replacing the oldest is one upgrade,
    the newest added beside both is one package added."""
    before = rocky()
    kernels = [p for p in before.packages if p.name == "kernel"]
    others = tuple(p for p in before.packages if p.name != "kernel")
    newest = Package("kernel", "5.14.0-503.14.1.el9_5", "rpm")
    rotated = replace(before, packages=(*others, newest, kernels[1]))
    kept = replace(before, packages=(*others, kernels[1], newest, kernels[0]))
    assert rows(diff(before, rotated)) == [
        (
            "packages.version",
            "kernel",
            "changed",
            "version",
            "5.14.0-362.24.1.el9_3",
            "5.14.0-503.14.1.el9_5",
            "low",
        ),
    ]
    assert [(c.rule, c.after["version"]) for c in diff(before, kept).changes] == [
        ("packages.added", "5.14.0-503.14.1.el9_5"),
    ]


def test_a_new_host_key_is_high_and_identity() -> None:
    before = rocky()
    after = replace(
        before,
        ssh_host_keys=edit(
            before.ssh_host_keys,
            lambda k: k.key_type == "ssh-ed25519",
            fingerprint_sha256="SHA256:new",
        ),
    )
    result = diff(before, after)
    assert [(c.rule, c.label, c.category, c.severity) for c in result.changes] == [
        ("ssh_host_keys.fingerprint_sha256", "ssh-ed25519", "identity", "high"),
    ]


# --- single values ------------------------------------------------------------------------


def test_a_reboot_is_one_info_change_and_a_second_of_jitter_none() -> None:
    before = recorded()
    boot = before.identity.boot_time
    assert boot is not None
    rebooted = replace(
        before, identity=replace(before.identity, boot_time=boot + timedelta(hours=2))
    )
    jitter = replace(
        before, identity=replace(before.identity, boot_time=boot + timedelta(seconds=1))
    )
    assert rows(diff(before, rebooted)) == [
        (
            "identity.boot_time",
            "reboot",
            "changed",
            None,
            "2026-12-03T21:59:39Z",
            "2026-12-03T23:59:39Z",
            "info",
        ),
    ]
    assert diff(before, rebooted).changes[0].category == "os"
    assert diff(before, jitter).changes == ()


def test_memory_within_the_tolerance_is_no_change_new_modules_are_hardware() -> None:
    before = recorded()  # 25276071936 bytes
    assert before.memory_total_bytes == 25276071936
    kernel = replace(before, memory_total_bytes=25276071936 - 50 * 1024**2)  # 0.2 %
    modules = replace(before, memory_total_bytes=2 * 25276071936)
    assert diff(before, kernel).changes == ()
    assert [(c.rule, c.category, c.severity) for c in diff(before, modules).changes] == [
        ("memory_total_bytes", "hardware", "warning"),
    ]


def test_os_kernel_and_cpu_changes_are_classified() -> None:
    before = recorded()
    after = replace(
        before,
        os=replace(before.os, kernel="6.18.45-fc-v1148", version="13"),
        cpu=replace(before.cpu, cores=4, threads=4),
    )
    assert [(c.rule, c.category, c.severity) for c in diff(before, after).changes] == [
        ("cpu.cores", "hardware", "warning"),
        ("cpu.threads", "hardware", "warning"),
        ("os.version", "os", "warning"),
        ("os.kernel", "os", "low"),
    ]


# --- facts not read -----------------------------------------------------------------------


def test_a_value_not_read_on_one_side_is_not_compared_never_removed() -> None:
    before = rocky()  # DMI read as root
    after = replace(before, identity=replace(before.identity, dmi_serial=None))  # not root
    result = diff(before, after)
    assert result.changes == ()
    assert NotCompared("identity.dmi_serial", "after", 1) in result.not_compared


def test_a_list_not_read_on_a_side_is_not_compared_never_all_removed() -> None:
    """Facts schema 2: a list not read is null. None of its items is reported."""
    before = recorded()
    unread = replace(before, packages=None, disks=None)
    forward, backward = diff(before, unread), diff(unread, before)
    assert forward.changes == () and backward.changes == ()
    assert {(n.path, n.side) for n in forward.not_compared} >= {
        ("packages", "after"),
        ("disks", "after"),
        ("mounts", "after"),
    }
    assert ("packages", "before") in {(n.path, n.side) for n in backward.not_compared}
    # an empty list is read, and says "none": every package went
    assert len(diff(before, replace(before, packages=())).changes) == len(before.packages)


# --- the rules are data ---------------------------------------------------------------------


def test_the_severity_comes_from_the_rules_not_the_code() -> None:
    data = rules_to_dict(rules())
    data["changes"]["packages.version"] = {"category": "os", "severity": "high"}
    data["tolerances"]["boot_time_seconds"] = 7200
    mine = rules_from_dict(data, "mine.yaml")
    before = recorded()
    boot = before.identity.boot_time
    assert boot is not None
    after = replace(
        before,
        packages=edit(before.packages, lambda p: p.name == "bash", version="9"),
        identity=replace(before.identity, boot_time=boot + timedelta(hours=1)),
    )
    result = diff_facts(before, after, mine)
    assert [(c.rule, c.category, c.severity) for c in result.changes] == [
        ("packages.version", "os", "high"),
    ]
    assert (
        result.rules_source == "mine.yaml"
        and result.rules_sha256 != diff(before, after).rules_sha256
    )


# --- ranking and the canonical form -------------------------------------------------------


def test_changes_are_ranked_worst_first() -> None:
    before = rocky()
    after = replace(
        before,
        services=edit(before.services, lambda s: s.name == "nginx.service", state="failed/failed"),
        packages=edit(before.packages, lambda p: p.name == "nginx", version="9"),
        disks=edit(before.disks, lambda d: d.name == "sda", name="sdc"),
        memory_total_bytes=2 * (before.memory_total_bytes or 0),
    )
    assert [c.severity for c in diff(before, after).changes] == ["high", "warning", "low", "info"]


def test_the_dict_form_is_the_same_whatever_the_order_of_the_input() -> None:
    before = rocky()
    after = replace(
        before,
        packages=edit(before.packages, lambda p: p.name in {"nginx", "bash"}, version="9"),
        listening_ports=before.listening_ports[2:],
    )
    one = diff_to_dict(diff(before, after))
    two = diff_to_dict(diff(reversed_lists(before), reversed_lists(after)))
    assert canonical_json(one) == canonical_json(two)
    assert sha256_hex(one) == sha256_hex(two)
    assert one["format"] == "pelihara.facts-diff" and one["version"] == 1
    assert one["summary"]["changes"] == len(one["changes"]) == 4
    assert one["summary"]["by_severity"] == {"info": 0, "low": 2, "warning": 0, "high": 2}
    assert one["summary"]["unexpected_warning_or_above"] == 2
    assert one["changes"][0]["key"] == ["tcp", "0.0.0.0", 22]
    assert list(one["changes"][0]) == [
        "path",
        "key",
        "label",
        "kind",
        "field",
        "before",
        "after",
        "rule",
        "category",
        "severity",
        "expected",
    ]
