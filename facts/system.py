"""Identity, CPU, memory and OS: the sections that print them and the parsers that read them.

The agent reads the same files locally (`pelihara.agent.gather`) with the parsers here, so
both paths agree on format details.

>>> parse_os_release('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\\nID=debian\\n')["ID"]
'debian'
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from pelihara.facts.model import Cpu, Identity, OperatingSystem
from pelihara.facts.output import OutputFormatError, optional_int, optional_text, parse_line
from pelihara.facts.section import BundleFormatError, Section

# --- /proc/stat: boot time --------------------------------------------------------------


def parse_btime(text: str) -> datetime | None:
    """`btime 1718000000` from /proc/stat: the boot time, whole seconds since the epoch.

    psutil.boot_time() reads the same line, so both paths give the same instant.
    """
    for line in text.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == "btime":
            seconds = optional_int(words[1])
            if seconds is None:
                raise OutputFormatError(f"btime is not a number: {line!r}")
            return datetime.fromtimestamp(seconds, UTC)
    return None


# --- /proc/cpuinfo and sysfs: CPU ---------------------------------------------------------


@dataclass(frozen=True)
class CpuInfo:
    """What /proc/cpuinfo tells: None where the architecture does not print the field."""

    model: str | None = None
    sockets: int | None = None  # distinct "physical id"; absent on most ARM kernels
    processors: int | None = None  # "processor" entries: the online logical CPUs
    cores: int | None = None  # "cpu cores" summed over sockets (psutil's own fallback)


def parse_cpuinfo(text: str) -> CpuInfo:
    """/proc/cpuinfo: one blank-line separated block per logical CPU."""
    blocks = [_cpuinfo_block(block) for block in re.split(r"\n\s*\n", text) if block.strip()]
    processors = sum(1 for block in blocks if "processor" in block)
    models = [block["model name"] for block in blocks if block.get("model name")]
    packages = {block["physical id"] for block in blocks if "physical id" in block}
    cores = {
        block["physical id"]: optional_int(block.get("cpu cores"))
        for block in blocks
        if "physical id" in block
    }
    core_total = sum(count or 0 for count in cores.values())
    return CpuInfo(
        model=models[0] if models else None,
        sockets=len(packages) or None,
        processors=processors or None,
        cores=core_total or None,
    )


def _cpuinfo_block(block: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in block.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    return fields


def parse_cpu_topology(text: str) -> int | None:
    """Physical cores: one `core_cpus_list` line per logical CPU ("0,16" or "0-1"); the
    distinct lines are the cores. The same count psutil.cpu_count(logical=False) makes."""
    lists = {line.strip() for line in text.splitlines() if line.strip()}
    return len(lists) or None


# --- /proc/meminfo: memory ----------------------------------------------------------------


def parse_meminfo(text: str) -> int | None:
    """`MemTotal:  24683656 kB` -> bytes. The kernel's "kB" is KiB: multiply by 1024, as
    psutil.virtual_memory().total does."""
    for line in text.splitlines():
        match = re.fullmatch(r"MemTotal:\s*(\d+)\s*kB", line.strip())
        if match:
            return int(match.group(1)) * 1024
        if line.startswith("MemTotal:"):
            raise OutputFormatError(f"MemTotal not in kB: {line!r}")
    return None


# --- os-release: OS -----------------------------------------------------------------------


def parse_os_release(text: str) -> dict[str, str]:
    """os-release(5): KEY=value lines, values shell-quoted; comments and blanks ignored."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            fields[key] = _unquote(value)
    return fields


# What shlex treats specially: quotes, the backslash, and (outside quotes) its whitespace.
_QUOTING = frozenset("\"'\\")
_SHLEX_SPACE = frozenset(" \t\r\n")


def _unquote(value: str) -> str:
    # Nearly every value is `"text"` or `word`; those read as themselves without shlex, which
    # costs more than the rest of a host's os-release parse.
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        if _QUOTING.isdisjoint(value[1:-1]):
            return value[1:-1]
    elif _QUOTING.isdisjoint(value) and _SHLEX_SPACE.isdisjoint(value):
        return value
    try:
        return " ".join(shlex.split(value))
    except ValueError:  # an unbalanced quote: keep the text, drop the quote characters
        return value.strip("\"'")


def os_from_fields(fields: Mapping[str, str], kernel: str | None) -> OperatingSystem:
    """The OS facts from parsed os-release fields and the kernel release (`uname -r`)."""
    return OperatingSystem(
        name=optional_text(fields.get("PRETTY_NAME")),
        id=optional_text(fields.get("ID")),
        version=optional_text(fields.get("VERSION_ID")),
        kernel=optional_text(kernel),
    )


def os_from_release(text: str, kernel: str | None) -> OperatingSystem:
    """The OS facts from os-release text and the kernel release (`uname -r`)."""
    return os_from_fields(parse_os_release(text), kernel)


# --- the sections -------------------------------------------------------------------------
# The host and kernel names come from /proc/sys/kernel, read by the shell; `uname` where
# there is none. `get` and `line` are the shell readers of `pelihara.facts.section`.

HOSTNAME = Section(
    "hostname",
    r"""get /proc/sys/kernel/hostname && host=$l || host=$(uname -n 2>/dev/null)
[ -n "$host" ] && printf '%s\n' "$host"
""",
    parse_line,
)
FQDN = Section("fqdn", "hostname -f 2>/dev/null", parse_line)
MACHINE_ID = Section("machine-id", "line /etc/machine-id", parse_line)
DMI_VENDOR = Section("dmi-vendor", "line /sys/class/dmi/id/sys_vendor", parse_line)
DMI_PRODUCT = Section("dmi-product", "line /sys/class/dmi/id/product_name", parse_line)
DMI_SERIAL = Section("dmi-serial", "line /sys/class/dmi/id/product_serial", parse_line)
BTIME = Section("btime", "grep '^btime ' /proc/stat 2>/dev/null", parse_btime)
# Only the lines `parse_cpuinfo` reads, and the blank lines between CPUs: ~1.3 KiB a logical
# CPU is ~80 bytes (a 64-thread server: 85 KiB less to send, decrypt and parse, per host).
# Without grep, or when nothing matches, the whole file: the parse is the same either way.
CPUINFO = Section(
    "cpuinfo",
    r"""grep -iE \
  '^[[:space:]]*(processor|model name|physical id|cpu cores)[[:space:]]*:|^[[:space:]]*$' \
  /proc/cpuinfo 2>/dev/null || cat /proc/cpuinfo 2>/dev/null
""",
    parse_cpuinfo,
)
CPU_TOPOLOGY = Section(
    "cpu-topology",
    r"""cat /sys/devices/system/cpu/cpu[0-9]*/topology/core_cpus_list 2>/dev/null ||
  cat /sys/devices/system/cpu/cpu[0-9]*/topology/thread_siblings_list 2>/dev/null
""",
    parse_cpu_topology,
)
MEMINFO = Section(
    "meminfo",
    r"""get /proc/meminfo  # Linux puts MemTotal first
case $l in MemTotal:*) printf '%s\n' "$l" ;; *) grep '^MemTotal:' /proc/meminfo 2>/dev/null ;; esac
""",
    parse_meminfo,
)
OS_RELEASE = Section(
    "os-release",
    "cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null",
    parse_os_release,
)
KERNEL = Section(
    "kernel",
    r"""get /proc/sys/kernel/osrelease && kernel=$l || kernel=$(uname -r 2>/dev/null)
[ -n "$kernel" ] && printf '%s\n' "$kernel"
""",
    parse_line,
)


def identity(sections: Mapping[str, str]) -> Identity:
    """Who the server is; a bundle without a host name is refused."""
    hostname = HOSTNAME.read(sections)
    if hostname is None:
        raise BundleFormatError("no host name: `uname -n` printed nothing", "hostname")
    return Identity(
        hostname=hostname,
        fqdn=FQDN.read(sections),
        machine_id=MACHINE_ID.read(sections),
        dmi_vendor=DMI_VENDOR.read(sections),
        dmi_product=DMI_PRODUCT.read(sections),
        dmi_serial=DMI_SERIAL.read(sections),
        boot_time=BTIME.read(sections),
    )


def cpu(sections: Mapping[str, str]) -> Cpu:
    info = CPUINFO.read(sections)
    # Cores as psutil counts them: distinct sysfs core lists, else cpuinfo's "cpu cores".
    cores = CPU_TOPOLOGY.read(sections) or info.cores
    return Cpu(model=info.model, sockets=info.sockets, cores=cores, threads=info.processors)


def operating_system(sections: Mapping[str, str]) -> OperatingSystem:
    return os_from_fields(OS_RELEASE.read(sections), KERNEL.read(sections))
