"""Identity, CPU, memory and OS sections, on recorded outputs in tests/fixtures/bundle."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pelihara.facts.output import OutputFormatError, parse_line
from pelihara.facts.system import (
    CPUINFO,
    os_from_release,
    parse_btime,
    parse_cpu_topology,
    parse_cpuinfo,
    parse_meminfo,
)
from tests.facts.recorded import DEBIAN, ROCKY, section

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


ARM_OLD = (
    "Processor\t: ARMv7 rev 4 (v7l)\nprocessor\t: 0\n\nprocessor\t: 1\n\nHardware\t: BCM2709\n"
)
S390 = "vendor_id : IBM/S390\n# processors : 4\nprocessor 0: version = FF\n\ncpu number : 0\n"


@pytest.mark.parametrize(
    "cpuinfo", [section(DEBIAN, "cpuinfo"), section(ROCKY, "cpuinfo"), ARM_OLD, S390, ""]
)
def test_the_cpuinfo_section_prints_what_its_parser_reads(cpuinfo: str, tmp_path: Path) -> None:
    """The section keeps only the lines parse_cpuinfo reads (and the blank lines between
    CPUs): run by a real sh on a recorded /proc/cpuinfo, it parses as the whole file does."""
    recorded = tmp_path / "cpuinfo"
    recorded.write_text(cpuinfo)
    shell = CPUINFO.shell.replace("/proc/cpuinfo", str(recorded))
    done = subprocess.run(["/bin/sh", "-c", shell], check=True, capture_output=True, text=True)
    printed = done.stdout
    assert parse_cpuinfo(printed) == parse_cpuinfo(cpuinfo)
    assert len(printed) <= len(cpuinfo)


def test_parse_cpu_topology_counts_distinct_core_lists() -> None:
    assert parse_cpu_topology(section(DEBIAN, "cpu-topology")) == 2
    assert parse_cpu_topology(section(ROCKY, "cpu-topology")) == 4
    assert parse_cpu_topology("") is None


# --- os ----------------------------------------------------------------------------------


def test_os_from_release() -> None:
    debian = os_from_release(section(DEBIAN, "os-release"), parse_line(section(DEBIAN, "kernel")))
    assert debian.name == "Debian GNU/Linux 12 (bookworm)"
    assert (debian.id, debian.version, debian.kernel) == ("debian", "12", "6.18.44-fc-v782")
    rocky = os_from_release(section(ROCKY, "os-release"), None)
    assert (rocky.name, rocky.id, rocky.version, rocky.kernel) == (
        "Rocky Linux 9.4 (Blue Onyx)", "rocky", "9.4", None,
    )  # fmt: skip
