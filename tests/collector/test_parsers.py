"""The bundle's section parsers, on recorded outputs in tests/fixtures/bundle (see its README)."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest

from pelihara.agent import gather
from pelihara.collector.bundle import BUNDLE, BundleFormatError, parse_bundle, split_sections
from pelihara.collector.parsers import (
    OutputFormatError,
    host_keys_from_keygen,
    os_from_release,
    packages_from_dpkg,
    packages_from_rpm,
    parse_btime,
    parse_cpu_topology,
    parse_cpuinfo,
    parse_findmnt,
    parse_ip_addr,
    parse_line,
    parse_lsblk,
    parse_meminfo,
    parse_net_speeds,
    parse_ps,
    parse_ss,
    services_from_systemctl,
)
from pelihara.facts.model import (
    HostKey,
    ListeningPort,
    Mount,
    Package,
    Service,
    facts_from_json,
    facts_to_json,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bundle"
DEBIAN = "debian12-container"
ROCKY = "rocky9-dell-synthetic"


def fixture_text(case: str) -> str:
    return (FIXTURES / f"{case}.txt").read_text(encoding="utf-8")


@cache
def sections(case: str) -> dict[str, str]:
    return split_sections(fixture_text(case))


def section(case: str, name: str) -> str:
    return sections(case)[name]


# --- splitting ---------------------------------------------------------------------------


def test_recorded_bundle_has_every_raw_section() -> None:
    assert list(sections(DEBIAN)) == [
        "hostname", "fqdn", "machine-id", "dmi-vendor", "dmi-product", "dmi-serial", "btime",
        "cpuinfo", "cpu-topology", "meminfo", "lsblk", "findmnt", "ip-addr", "net-speed",
        "os-release", "kernel", "services-ps", "ss", "packages-dpkg", "ssh-host-keys",
    ]  # fmt: skip


def test_an_empty_section_is_empty_text() -> None:
    assert section(DEBIAN, "dmi-serial") == ""  # no /sys/class/dmi in the container


def test_output_cut_off_before_the_end_line_is_refused() -> None:
    text = fixture_text(DEBIAN)
    cut = text[: text.index("@@pelihara:section packages-dpkg")]
    with pytest.raises(BundleFormatError, match="incomplete"):
        parse_bundle(cut)


def test_text_that_is_not_a_bundle_is_refused() -> None:
    with pytest.raises(BundleFormatError, match="not the output"):
        parse_bundle("Permission denied\n")


def test_a_section_given_twice_is_refused() -> None:
    text = "@@pelihara:bundle 1\n@@pelihara:section hostname\na\n@@pelihara:section hostname\nb\n"
    with pytest.raises(BundleFormatError, match="hostname"):
        split_sections(text + "@@pelihara:end\n")


def test_lines_a_shell_startup_file_prints_before_the_header_are_ignored() -> None:
    facts = parse_bundle("Welcome to db01!\n" + fixture_text(DEBIAN))
    assert facts.identity.hostname == "vm"


# --- one-line sections, boot time, memory ---------------------------------------------------


def test_parse_line_takes_the_first_non_blank_line() -> None:
    assert parse_line(section(DEBIAN, "hostname")) == "vm"
    assert parse_line(section(DEBIAN, "machine-id")) == "3d1219c7c4c5404aaa1f6d2a48adfda4"
    assert parse_line(section(ROCKY, "dmi-vendor")) == "Dell Inc."
    assert parse_line(section(ROCKY, "dmi-serial")) == "7XK2M53"
    assert parse_line("\n  \n") is None


def test_parse_btime_reads_the_boot_time_in_utc() -> None:
    assert parse_btime(section(DEBIAN, "btime")) == datetime.fromtimestamp(1795829440, UTC)
    assert parse_btime(section(ROCKY, "btime")) == datetime(2024, 6, 10, 3, 26, 40, tzinfo=UTC)
    assert parse_btime("") is None
    with pytest.raises(OutputFormatError):
        parse_btime("btime soon\n")


def test_parse_meminfo_converts_kib_to_bytes() -> None:
    assert parse_meminfo(section(DEBIAN, "meminfo")) == 24683656 * 1024
    assert parse_meminfo(section(ROCKY, "meminfo")) == 263636996 * 1024
    assert parse_meminfo("") is None


# --- cpu ---------------------------------------------------------------------------------


def test_parse_cpuinfo_on_a_one_socket_vm() -> None:
    info = parse_cpuinfo(section(DEBIAN, "cpuinfo"))
    assert (info.model, info.sockets, info.processors, info.cores) == ("AMD EPYC", 1, 2, 2)


def test_parse_cpuinfo_counts_distinct_physical_ids_as_sockets() -> None:
    info = parse_cpuinfo(section(ROCKY, "cpuinfo"))
    assert info.model == "Intel(R) Xeon(R) Gold 6230R CPU @ 2.10GHz"
    assert (info.sockets, info.processors, info.cores) == (2, 8, 4)


def test_parse_cpuinfo_without_physical_id_leaves_sockets_unknown() -> None:
    arm = "processor\t: 0\nBogoMIPS\t: 48.00\n\nprocessor\t: 1\nBogoMIPS\t: 48.00\n"
    info = parse_cpuinfo(arm)
    assert (info.model, info.sockets, info.processors, info.cores) == (None, None, 2, None)


def test_parse_cpu_topology_counts_distinct_core_lists() -> None:
    assert parse_cpu_topology(section(DEBIAN, "cpu-topology")) == 2
    assert parse_cpu_topology(section(ROCKY, "cpu-topology")) == 4
    assert parse_cpu_topology("") is None


# --- disks -------------------------------------------------------------------------------


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


# --- network -----------------------------------------------------------------------------


def test_parse_net_speeds_unknown_is_none() -> None:
    assert parse_net_speeds(section(DEBIAN, "net-speed")) == {
        "eth0": None, "ifb0": None, "ifb1": None, "lo": None,
    }  # fmt: skip
    assert parse_net_speeds(section(ROCKY, "net-speed"))["eno1"] == 1000


def test_parse_ip_addr_on_the_recorded_vm() -> None:
    interfaces = {nic.name: nic for nic in parse_ip_addr(section(DEBIAN, "ip-addr"))}
    assert sorted(interfaces) == ["eth0", "ifb0", "ifb1", "lo"]
    eth0 = interfaces["eth0"]
    assert (eth0.mac, eth0.is_up, eth0.ipv4) == ("02:fc:00:00:00:01", True, ("192.0.2.2",))
    assert eth0.ipv6 == ("fd00::2", "fe80::fc:ff:fe00:1")
    assert interfaces["lo"].mac is None  # all zeros: no hardware address
    assert interfaces["ifb0"].is_up is False


def test_parse_ip_addr_on_the_server() -> None:
    speeds = parse_net_speeds(section(ROCKY, "net-speed"))
    interfaces = {nic.name: nic for nic in parse_ip_addr(section(ROCKY, "ip-addr"), speeds)}
    eno1, eno2, wg0 = interfaces["eno1"], interfaces["eno2"], interfaces["wg0"]
    assert eno1.mac == "b0:7b:25:de:ad:01" and eno1.speed_mbps == 1000
    assert eno1.ipv4 == ("10.20.30.9", "10.20.30.41")  # numeric order, eno1:1 included
    assert eno2.is_up is False  # UP but NO-CARRIER: not running, as psutil's isup
    assert wg0.mac is None and wg0.is_up is True


def test_parse_ss_on_the_recorded_vm() -> None:
    assert parse_ss(section(DEBIAN, "ss")) == (ListeningPort("tcp", "0.0.0.0", 2024, None),)


def test_parse_ss_addresses_and_owners() -> None:
    ports = {(p.protocol, p.address, p.port): p.process for p in parse_ss(section(ROCKY, "ss"))}
    assert ports[("tcp", "::", 443)] == "nginx"  # `*` is the dual-stack IPv6 wildcard
    assert ports[("tcp", "127.0.0.53", 53)] == "systemd-resolve"  # `%lo` dropped
    assert ports[("udp", "::1", 323)] == "chronyd"
    assert ports[("tcp", "fe80::b27b:25ff:fede:ad01", 8080)] is None  # owner not visible
    assert len(ports) == 9


def test_parse_ss_names_a_shared_socket_after_its_lowest_pid() -> None:
    owners = 'users:(("worker",pid=9,fd=6),("master",pid=3,fd=6))'
    line = f"tcp LISTEN 0 511 0.0.0.0:80 0.0.0.0:* {owners}"
    assert parse_ss(line) == (ListeningPort("tcp", "0.0.0.0", 80, "master"),)


def test_parse_ss_refuses_a_line_it_cannot_read() -> None:
    with pytest.raises(OutputFormatError):
        parse_ss("Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port\n")


# --- os, services, packages, host keys ------------------------------------------------------


def test_os_from_release() -> None:
    debian = os_from_release(section(DEBIAN, "os-release"), parse_line(section(DEBIAN, "kernel")))
    assert debian.name == "Debian GNU/Linux 12 (bookworm)"
    assert (debian.id, debian.version, debian.kernel) == ("debian", "12", "6.18.44-fc-v782")
    rocky = os_from_release(section(ROCKY, "os-release"), None)
    assert (rocky.name, rocky.id, rocky.version, rocky.kernel) == (
        "Rocky Linux 9.4 (Blue Onyx)", "rocky", "9.4", None,
    )  # fmt: skip


def test_services_from_systemctl() -> None:
    services = services_from_systemctl(section(ROCKY, "services-systemd"))
    assert len(services) == 10 and [s.name for s in services] == sorted(s.name for s in services)
    by_name = {service.name: service for service in services}
    assert by_name["sshd.service"] == Service("sshd.service", "active/running", "systemd")
    assert by_name["kdump.service"].state == "failed/failed"
    assert by_name["ntpd.service"].state == "inactive/dead"  # the ● marker is skipped


def test_parse_ps_gives_distinct_process_names() -> None:
    services = parse_ps(section(DEBIAN, "services-ps"))
    names = [service.name for service in services]
    assert names == sorted(set(names)) and "ps" in names
    assert {service.source for service in services} == {"process"}
    assert {service.state for service in services} == {"running"}


def test_packages_from_dpkg_on_the_recorded_vm() -> None:
    packages = packages_from_dpkg(section(DEBIAN, "packages-dpkg"))
    assert len(packages) == 727
    assert any(package.name == "dpkg" for package in packages)
    assert {package.manager for package in packages} == {"dpkg"}


def test_packages_from_dpkg_skips_packages_not_installed() -> None:
    text = "ii \tbash\t5.2.15-2+b7\nrc \told-lib\t1.0\nun \tghost\t\niF \thalf\t2.0\n"
    assert packages_from_dpkg(text) == (
        Package("bash", "5.2.15-2+b7", "dpkg"), Package("half", "2.0", "dpkg"),
    )  # fmt: skip


def test_packages_from_rpm_keeps_every_installed_kernel() -> None:
    packages = packages_from_rpm(section(ROCKY, "packages-rpm"))
    kernels = [package.version for package in packages if package.name == "kernel"]
    assert kernels == ["5.14.0-362.24.1.el9_3", "5.14.0-427.13.1.el9_4"]
    assert len(packages) == 8


def test_host_keys_from_keygen() -> None:
    keys = host_keys_from_keygen(section(DEBIAN, "ssh-host-keys"))
    assert [key.key_type for key in keys] == ["ecdsa-sha2-nistp256", "ssh-ed25519", "ssh-rsa"]
    assert HostKey("ssh-ed25519", "SHA256:4phALWF4ZDstjSGySD7L6H915S5nXA3lYeVq37oXb4o") in keys


def test_host_keys_name_the_ecdsa_curve_and_skip_md5() -> None:
    text = (
        "384 SHA256:abc root@h (ECDSA)\n"
        "2048 MD5:12:34:56 root@h (RSA)\n"
        "256 SHA256:def no comment here (ED25519-SK)\n"
    )
    assert host_keys_from_keygen(text) == (
        HostKey("ecdsa-sha2-nistp384", "SHA256:abc"),
        HostKey("sk-ssh-ed25519@openssh.com", "SHA256:def"),
    )


# --- whole bundles ---------------------------------------------------------------------------


def test_parse_bundle_on_the_synthetic_server() -> None:
    facts = parse_bundle(fixture_text(ROCKY))
    who = facts.identity
    assert (who.hostname, who.fqdn) == ("db01", "db01.opd.example.go.id")
    assert (who.dmi_vendor, who.dmi_product) == ("Dell Inc.", "PowerEdge R740")
    assert who.dmi_serial == "7XK2M53"
    assert (facts.cpu.sockets, facts.cpu.cores, facts.cpu.threads) == (2, 4, 8)
    assert facts.memory_total_bytes == 263636996 * 1024
    assert [disk.name for disk in facts.disks] == ["nvme0n1", "sda"]
    assert {package.manager for package in facts.packages} == {"rpm"}
    assert {service.source for service in facts.services} == {"systemd"}
    assert facts_from_json(facts_to_json(facts)) == facts


def test_empty_sections_give_none_and_empty_tuples() -> None:
    facts = parse_bundle(fixture_text("edge-empty-sections"))
    who = facts.identity
    assert who.hostname == "bare"
    assert (who.fqdn, who.machine_id, who.dmi_serial, who.boot_time) == (None, None, None, None)
    assert facts.cpu.model is None and facts.cpu.threads is None and facts.cpu.cores is None
    assert facts.memory_total_bytes is None
    assert facts.disks == facts.interfaces == facts.services == facts.listening_ports == ()
    assert facts.packages == facts.ssh_host_keys == ()
    assert (facts.os.name, facts.os.kernel) == (None, None)


def test_missing_sections_are_read_as_empty() -> None:
    facts = parse_bundle(fixture_text("edge-missing-sections"))
    assert facts.identity.hostname == "bare" and facts.os.kernel == "6.1.0-26-amd64"
    assert facts.identity.machine_id is None and facts.memory_total_bytes is None
    assert facts.disks == facts.packages == facts.services == ()


def test_a_bundle_without_a_host_name_is_refused() -> None:
    with pytest.raises(BundleFormatError, match="hostname"):
        parse_bundle("@@pelihara:bundle 1\n@@pelihara:section kernel\n6.1\n@@pelihara:end\n")


def test_a_malformed_section_is_named_in_the_error() -> None:
    text = fixture_text(DEBIAN).replace('"blockdevices"', '"blockdevicez"')
    with pytest.raises(BundleFormatError, match="section lsblk") as raised:
        parse_bundle(text)
    assert raised.value.section == "lsblk"


def test_the_agent_json_section_is_the_agents_own_document() -> None:
    text = fixture_text("debian12-agent")
    facts = parse_bundle(text)
    assert facts == facts_from_json(split_sections(text)["agent-json"])
    assert facts.identity.hostname == "vm" and len(facts.packages) == 727
    assert json.loads(split_sections(text)["agent-json"])["schema_version"] == 1


# --- the script itself -----------------------------------------------------------------------


@pytest.mark.parametrize("argv", [gather.LSBLK, gather.SYSTEMCTL, gather.DPKG_QUERY, gather.RPM])
def test_the_bundle_runs_the_same_commands_as_the_agent(argv: tuple[str, ...]) -> None:
    assert shlex.join(argv) in BUNDLE


def test_the_bundle_is_fixed_text() -> None:
    assert "{}" not in BUNDLE and "%(" not in BUNDLE  # nothing is ever formatted into it
    redirections = ("2>/dev/null", ">/dev/null", "2>&1")
    script = BUNDLE
    for redirection in redirections:
        script = script.replace(redirection, "")
    assert ">" not in script  # it writes no file
