"""The facts of a remote server in ONE SSH exec: a fixed, read-only shell script and its parser.

`BUNDLE` is constant text: nothing (no host name, no inventory value) is ever put into it.
It prefers the server's own agent (`pelihara agent facts --format json`, section
`agent-json`); without one it prints the raw output of standard tools, one section each:

    @@pelihara:bundle 1
    @@pelihara:section hostname
    web01
    @@pelihara:section meminfo
    MemTotal:        8060996 kB
    ...
    @@pelihara:end

A missing tool or an unreadable file only empties its section (`2>/dev/null`); the
`@@pelihara:end` line tells a complete answer from one cut off by a dropped connection.
`parse_bundle` turns the text into `Facts`, with the parsers of `collector.parsers`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from pelihara.collector.parsers import (
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
    Cpu,
    Facts,
    FactsFormatError,
    Identity,
    Package,
    Service,
    facts_from_json,
)

BUNDLE_VERSION = 1
HEADER = f"@@pelihara:bundle {BUNDLE_VERSION}"
SECTION = "@@pelihara:section "
END = "@@pelihara:end"
AGENT_JSON = "agent-json"

# POSIX sh. Run by the login shell of the SSH user, so it must also be valid bash, dash and
# ksh; every command reads, none writes. The sbin directories are appended to PATH because
# a non-interactive SSH session of a non-root user usually lacks them (ip, ss on some
# systems). The `printf '\n...'` before each marker ends a section whose last line had no
# newline; parsers ignore blank lines.
_PRELUDE = r"""PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin"
LC_ALL=C
export PATH LC_ALL
section() { printf '\n@@pelihara:section %s\n' "$1"; }
echo '@@pelihara:bundle 1'
"""


def _agent(scope: str) -> str:
    """The server's own agent, when it is installed and answers; else the script goes on to
    the raw tools (an agent too old for `--scope` prints nothing on stdout)."""
    return rf"""if command -v pelihara >/dev/null 2>&1; then
  facts=$(pelihara agent facts --format json --scope {scope} 2>/dev/null)
  if [ -n "$facts" ]; then
    section agent-json
    printf '%s\n' "$facts"
    printf '\n@@pelihara:end\n'
    exit 0
  fi
fi
"""


# What `verify` checks: identity, hardware, addresses, OS. Cheap on the server: one-line
# files (and the host and kernel names from /proc, `uname` where there is none) are read by
# the shell itself (`get`, the `read` builtin), not by a process each; a process costs the
# server ~0.8 ms of CPU, the whole script ~8 ms (dash; see the README's benchmarks).
_HARDWARE = r"""get() { l=; [ -r "$1" ] && { IFS= read -r l || [ -n "$l" ]; } 2>/dev/null <"$1"; }
line() { get "$1" && printf '%s\n' "$l"; }
get /proc/sys/kernel/hostname && host=$l || host=$(uname -n 2>/dev/null)
get /proc/sys/kernel/osrelease && kernel=$l || kernel=$(uname -r 2>/dev/null)
section hostname; [ -n "$host" ] && printf '%s\n' "$host"
section fqdn; hostname -f 2>/dev/null
section machine-id; line /etc/machine-id
section dmi-vendor; line /sys/class/dmi/id/sys_vendor
section dmi-product; line /sys/class/dmi/id/product_name
section dmi-serial; line /sys/class/dmi/id/product_serial
section cpuinfo; cat /proc/cpuinfo 2>/dev/null
section cpu-topology
cat /sys/devices/system/cpu/cpu[0-9]*/topology/core_cpus_list 2>/dev/null ||
  cat /sys/devices/system/cpu/cpu[0-9]*/topology/thread_siblings_list 2>/dev/null
section meminfo; get /proc/meminfo  # Linux puts MemTotal first
case $l in MemTotal:*) printf '%s\n' "$l" ;; *) grep '^MemTotal:' /proc/meminfo 2>/dev/null ;; esac
section lsblk; lsblk -J -b -o NAME,KNAME,SIZE,MODEL,SERIAL,TYPE 2>/dev/null
section ip-addr; ip -j addr 2>/dev/null
section net-speed
for d in /sys/class/net/*; do
  [ -e "$d" ] && { get "$d/speed"; printf '%s %s\n' "${d##*/}" "$l"; }
done
section os-release; cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null
section kernel; [ -n "$kernel" ] && printf '%s\n' "$kernel"
"""
# What snapshots add: boot time and mounts (verify compares neither: ~8 ms of the server's
# CPU saved), then services, listening ports, packages, host keys.
_STATE = r"""section btime; grep '^btime ' /proc/stat 2>/dev/null
section findmnt; findmnt -J -b -l -o SOURCE,TARGET,FSTYPE,SIZE,USED 2>/dev/null
"""
_SOFTWARE = r"""if [ -d /run/systemd/system ]; then
  section services-systemd
  systemctl list-units --type=service --all --no-legend --no-pager --plain 2>/dev/null
else
  section services-ps; ps -eo comm= 2>/dev/null
fi
section ss; ss -Htulnp 2>/dev/null
if command -v dpkg-query >/dev/null 2>&1; then
  section packages-dpkg
  dpkg-query -W -f '${db:Status-Abbrev}\t${binary:Package}\t${Version}\n' 2>/dev/null
elif command -v rpm >/dev/null 2>&1; then
  section packages-rpm; rpm -qa --qf '%{NAME}\t%{VERSION}-%{RELEASE}\n' 2>/dev/null
fi
section ssh-host-keys
for f in /etc/ssh/ssh_host_*_key.pub; do
  [ -r "$f" ] && ssh-keygen -lf "$f" 2>/dev/null
done
"""
_END = r"""printf '\n@@pelihara:end\n'
"""


# The output is gathered in the shell and written at once: sshd sends each write of each
# command as an SSH packet of its own (~40 for verify), and the collector spends more CPU on
# a packet (paramiko, in Python) than on a host's parse. `$(...)` drops NUL bytes, which no
# parser keeps, and the trailing newline, put back inside the one argument: dash writes a
# `printf '%s\n'` as two writes, so two packets.
def gathered(script: str) -> str:
    """SCRIPT with its output gathered in the shell and written at once."""
    return f'out=$(\n{script})\nprintf %s "$out\n"\n'


BUNDLE = gathered(_PRELUDE + _agent("all") + _HARDWARE + _STATE + _SOFTWARE + _END)
# For verify: what it compares. The agent where installed (its hardware scope), else the
# raw tools without boot time, mounts or software inventory; what is left out is None or
# empty (not read, rather than none).
VERIFY_BUNDLE = gathered(_PRELUDE + _agent("hardware") + _HARDWARE + _END)

T = TypeVar("T")


class BundleFormatError(FactsFormatError):
    """The bundle's output is cut off, not a bundle, or one section has the wrong shape."""

    def __init__(self, message: str, section: str | None = None) -> None:
        super().__init__(f"section {section}: {message}" if section else message)
        self.section = section


def split_sections(text: str, header: str = HEADER) -> dict[str, str]:
    """Section name -> its text ("" when empty). Refuses output without the header or the
    end line (a cut-off answer must not read as "no packages"), and a section given twice.
    Lines before the header (a chatty shell startup file) are ignored."""
    lines = text.splitlines()
    if header not in lines:
        raise BundleFormatError(f"not the output of the expected script (no {header!r} line)")
    start = lines.index(header) + 1
    if END not in lines[start:]:
        raise BundleFormatError("the bundle's output is incomplete (no end line)")
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for line in lines[start : lines.index(END, start)]:
        if line.startswith(SECTION):
            name = line.removeprefix(SECTION).strip()
            if name in sections:
                raise BundleFormatError("given twice", name)
            current = sections[name] = []
        else:
            current.append(line)
    return {name: _body(lines) for name, lines in sections.items()}


def _body(lines: list[str]) -> str:
    text = "\n".join(lines).strip("\n")
    return text + "\n" if text else ""


def parse_bundle(text: str) -> Facts:
    """Facts from the bundle's output: the agent's JSON when it ran, else the raw sections.

    A missing or empty section gives None or () for its facts; a malformed one raises
    `BundleFormatError` (a `FactsFormatError`) naming it.
    """
    sections = split_sections(text)
    if AGENT_JSON in sections:
        return facts_from_json(sections[AGENT_JSON])
    return raw_facts(sections)


def raw_facts(sections: Mapping[str, str]) -> Facts:
    speeds = parse_section(sections, "net-speed", parse_net_speeds)
    interfaces = parse_section(sections, "ip-addr", lambda text: parse_ip_addr(text, speeds))
    disks = parse_section(sections, "lsblk", parse_lsblk).attach(
        parse_section(sections, "findmnt", parse_findmnt)
    )
    return Facts(
        identity=identity(sections),
        cpu=cpu(sections),
        memory_total_bytes=parse_section(sections, "meminfo", parse_meminfo),
        disks=disks,
        interfaces=interfaces,
        os=os_from_release(
            section_text(sections, "os-release"), parse_section(sections, "kernel", parse_line)
        ),
        services=services(sections),
        listening_ports=parse_section(sections, "ss", parse_ss),
        packages=packages(sections),
        ssh_host_keys=parse_section(sections, "ssh-host-keys", host_keys_from_keygen),
    )


def section_text(sections: Mapping[str, str], name: str) -> str:
    return sections.get(name, "")


def parse_section(sections: Mapping[str, str], name: str, parser: Callable[[str], T]) -> T:
    """`parser` on one section's text ("" when the section is missing), its errors named."""
    try:
        return parser(section_text(sections, name))
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleFormatError(str(exc), name) from exc


def identity(sections: Mapping[str, str]) -> Identity:
    hostname = parse_section(sections, "hostname", parse_line)
    if hostname is None:
        raise BundleFormatError("no host name: `uname -n` printed nothing", "hostname")
    return Identity(
        hostname=hostname,
        fqdn=parse_section(sections, "fqdn", parse_line),
        machine_id=parse_section(sections, "machine-id", parse_line),
        dmi_vendor=parse_section(sections, "dmi-vendor", parse_line),
        dmi_product=parse_section(sections, "dmi-product", parse_line),
        dmi_serial=parse_section(sections, "dmi-serial", parse_line),
        boot_time=parse_section(sections, "btime", parse_btime),
    )


def cpu(sections: Mapping[str, str]) -> Cpu:
    info = parse_section(sections, "cpuinfo", parse_cpuinfo)
    # Cores as psutil counts them: distinct sysfs core lists, else cpuinfo's "cpu cores".
    cores = parse_section(sections, "cpu-topology", parse_cpu_topology) or info.cores
    return Cpu(model=info.model, sockets=info.sockets, cores=cores, threads=info.processors)


# Which section a server printed decides the parser: the one dispatch point per fact.
SERVICE_PARSERS: dict[str, Callable[[str], tuple[Service, ...]]] = {
    "services-systemd": services_from_systemctl,
    "services-ps": parse_ps,
}
PACKAGE_PARSERS: dict[str, Callable[[str], tuple[Package, ...]]] = {
    "packages-dpkg": packages_from_dpkg,
    "packages-rpm": packages_from_rpm,
}


def services(sections: Mapping[str, str]) -> tuple[Service, ...]:
    return _first_present(sections, SERVICE_PARSERS)


def packages(sections: Mapping[str, str]) -> tuple[Package, ...]:
    return _first_present(sections, PACKAGE_PARSERS)


def _first_present(
    sections: Mapping[str, str], parsers: Mapping[str, Callable[[str], tuple[T, ...]]]
) -> tuple[T, ...]:
    for name, parser in parsers.items():
        if name in sections:
            return parse_section(sections, name, parser)
    return ()
