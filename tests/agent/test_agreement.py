"""THE AGREEMENT TEST: the collector's raw SSH bundle and the local agent describe this machine
the same way.

The bundle runs here with `sh -s` and a PATH on which `pelihara` is not found, so it prints
the raw sections (not the agent's JSON); `parse_bundle` reads them. `gather_facts()` reads the
same machine through psutil and local files. Facts that cannot change between the two reads
must be equal; facts that can (sockets, processes) are bracketed by an agent read before and
one after the bundle: what both agent reads saw must be in the bundle's answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from pelihara.agent.gather import gather_facts
from pelihara.facts.bundle import BUNDLE, parse_bundle
from pelihara.facts.model import Disk, Facts, Interface
from tests.shell import run_script

T = TypeVar("T")


@dataclass(frozen=True)
class Reads:
    before: Facts  # the agent
    raw: Facts  # the bundle, between the two agent reads
    after: Facts  # the agent again


def run_raw_bundle() -> str:
    text = run_script(BUNDLE)
    assert "@@pelihara:section agent-json" not in text, "pelihara was found: not the raw path"
    return text


def read_three_times() -> Reads:
    before = gather_facts()
    raw = parse_bundle(run_raw_bundle())
    return Reads(before, raw, gather_facts())


@pytest.fixture(scope="module")
def reads() -> Reads:
    return read_three_times()


def bracketed(
    view: Callable[[Facts], set[T]], upper: bool = True, attempts: int = 3
) -> tuple[set[T], set[T], set[T]]:
    """(seen by both agent reads, seen by the bundle, seen by either agent read), read again
    while another process on this machine opens or closes sockets in the middle."""
    for _ in range(attempts):
        reads = read_three_times()
        stable = view(reads.before) & view(reads.after)
        either = view(reads.before) | view(reads.after)
        raw = view(reads.raw)
        if stable <= raw and (raw <= either or not upper):
            break
    return stable, raw, either


# --- facts that do not change between the reads ----------------------------------------------


def test_identity_agrees(reads: Reads) -> None:
    agent, raw = reads.before.identity, reads.raw.identity
    assert raw.hostname == agent.hostname
    # Both ask the resolver for the canonical name (`hostname -f`, getaddrinfo AI_CANONNAME).
    assert raw.fqdn == agent.fqdn
    assert raw.machine_id == agent.machine_id
    assert (raw.dmi_vendor, raw.dmi_product, raw.dmi_serial) == (
        agent.dmi_vendor, agent.dmi_product, agent.dmi_serial,
    )  # fmt: skip


def test_boot_time_agrees(reads: Reads) -> None:
    agent, raw = reads.before.identity.boot_time, reads.raw.identity.boot_time
    assert agent is not None and raw is not None
    # Both read `btime` of /proc/stat; psutil keeps it as a float, the bundle as an int.
    assert abs(agent - raw) <= timedelta(seconds=2)


def test_cpu_agrees(reads: Reads) -> None:
    # threads: psutil asks sysconf(_SC_NPROCESSORS_ONLN), the bundle counts "processor" lines.
    # cores: psutil counts distinct sysfs core_cpus_list files, as the cpu-topology section.
    assert reads.raw.cpu == reads.before.cpu


def test_memory_agrees(reads: Reads) -> None:
    # psutil's virtual_memory().total is /proc/meminfo's MemTotal * 1024, like the bundle;
    # bracketed because a memory balloon may resize MemTotal.
    assert reads.raw.memory_total_bytes in {
        reads.before.memory_total_bytes, reads.after.memory_total_bytes,
    }  # fmt: skip


def test_operating_system_agrees(reads: Reads) -> None:
    assert reads.raw.os == reads.before.os  # os-release, and uname -r == platform.release()


def interface_view(nic: Interface) -> tuple[object, ...]:
    return (nic.name, nic.mac, nic.ipv4, nic.ipv6, nic.is_up, nic.speed_mbps)


def test_interfaces_agree(reads: Reads) -> None:
    # getifaddrs (psutil) and netlink (`ip -j addr`) see the same links and addresses; link
    # speed comes from ethtool in psutil and from sysfs in the bundle, both in Mbps.
    agent = [interface_view(nic) for nic in reads.before.interfaces]
    assert [interface_view(nic) for nic in reads.raw.interfaces] == agent


def disk_view(disk: Disk) -> tuple[object, ...]:
    # used_bytes is left out: files are written between the reads. total_bytes is the same
    # statvfs figure (f_blocks * f_frsize) in psutil and findmnt.
    mounts = tuple((m.path, m.device, m.fstype, m.total_bytes) for m in disk.mounts)
    return (disk.name, disk.size_bytes, disk.model, disk.serial, mounts)


def test_disks_agree(reads: Reads) -> None:
    assert [disk_view(disk) for disk in reads.raw.disks] == [
        disk_view(disk) for disk in reads.before.disks
    ]


def test_packages_agree(reads: Reads) -> None:
    def view(facts: Facts) -> set[tuple[str, str, str]]:
        return {(p.name, p.version, p.manager) for p in facts.packages}

    assert view(reads.raw) == view(reads.before)


def test_ssh_host_keys_agree(reads: Reads) -> None:
    assert reads.raw.ssh_host_keys == reads.before.ssh_host_keys


# --- facts that other processes on this machine change ---------------------------------------


def ports_view(protocol: str) -> Callable[[Facts], set[tuple[str, int]]]:
    def view(facts: Facts) -> set[tuple[str, int]]:
        return {(p.address, p.port) for p in facts.listening_ports if p.protocol == protocol}

    return view


@pytest.mark.parametrize("protocol", ["tcp", "udp"])
def test_listening_ports_agree(protocol: str) -> None:
    # The owning process is not compared: ss prints the kernel's 15-character comm, psutil
    # completes a cut-off name from the command line.
    stable, raw, either = bracketed(ports_view(protocol))
    assert stable <= raw <= either


def short_process_names(facts: Facts) -> set[str]:
    # psutil completes a name the kernel cut at 15 characters from the command line, while
    # `ps -eo comm=` prints the cut name: only shorter names are comparable.
    return {s.name for s in facts.services if s.source == "process" and len(s.name) < 15}


def test_services_agree() -> None:
    if reads_use_systemd():
        # Both paths run the same `systemctl list-units` command and parser.
        stable, raw, either = bracketed(lambda facts: set(facts.services))
        assert stable <= raw <= either
        return
    # Without systemd the services are processes; the bundle's own (sh, cat, ps, ...) are
    # only in its answer, so only the lower bound holds.
    stable, raw, _ = bracketed(short_process_names, upper=False)
    assert stable <= raw


def reads_use_systemd() -> bool:
    return Path("/run/systemd/system").is_dir()
