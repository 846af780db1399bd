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

The sections are declared with their parsers in the fact families (`system`, `storage`,
`network`, `software`, `host_keys`); here they are put in order into one script. A missing
tool or an unreadable file empties a one-value section (`2>/dev/null`); a list's section
says `@@pelihara:failed` instead, so that a list not read (None) is never read as an empty
one ("none", facts schema 2). The `@@pelihara:end` line tells a complete answer from one cut
off by a dropped connection. `parse_bundle` turns the text into `Facts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pelihara.facts import host_keys, network, software, storage, system
from pelihara.facts.model import Facts, FactsFormatError, NewerSchemaError, facts_from_json
from pelihara.facts.section import (
    HEADER,
    MARKER,
    READERS,
    BundleFormatError,
    Part,
    gathered,
    split_sections,
)

AGENT_JSON = "agent-json"

# POSIX sh. Run by the login shell of the SSH user, so it must also be valid bash, dash and
# ksh; every command reads, none writes. The sbin directories are appended to PATH because
# a non-interactive SSH session of a non-root user usually lacks them (ip, ss on some
# systems).
PRELUDE = rf"""PATH="${{PATH:-/usr/bin:/bin}}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin"
LC_ALL=C
export PATH LC_ALL
{MARKER}{READERS}echo '{HEADER}'
"""
FINISH = r"""printf '\n@@pelihara:end\n'
"""


def _agent(scope: Literal["all", "hardware"]) -> str:
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


# What `verify` checks: identity, hardware, addresses, OS.
HARDWARE: tuple[Part, ...] = (
    system.HOSTNAME,
    system.FQDN,
    system.MACHINE_ID,
    system.DMI_VENDOR,
    system.DMI_PRODUCT,
    system.DMI_SERIAL,
    system.CPUINFO,
    system.CPU_TOPOLOGY,
    system.MEMINFO,
    storage.LSBLK,
    network.IP_ADDR,
    network.NET_SPEED,
    system.OS_RELEASE,
    system.KERNEL,
)
# What snapshots add: boot time and mounts (verify compares neither: ~8 ms of the server's
# CPU saved), then services, listening ports, packages, host keys.
STATE: tuple[Part, ...] = (system.BTIME, storage.FINDMNT)
SOFTWARE: tuple[Part, ...] = (
    software.SERVICES,
    network.SS,
    software.PACKAGES,
    host_keys.SSH_HOST_KEYS,
)


def script(scope: Literal["all", "hardware"], parts: Sequence[Part]) -> str:
    """The script as the shell streams it: the agent with SCOPE where installed, else PARTS."""
    return PRELUDE + _agent(scope) + "".join(part.script() for part in parts) + FINISH


BUNDLE = gathered(script("all", HARDWARE + STATE + SOFTWARE))
# For verify: what it compares. The agent where installed (its hardware scope), else the
# raw tools without boot time, mounts or software inventory; what is left out is None (not
# read, rather than none).
VERIFY_BUNDLE = gathered(script("hardware", HARDWARE))


def parse_bundle(text: str) -> Facts:
    """Facts from the bundle's output: the agent's JSON when it ran, else the raw sections.

    A missing or failed section gives None for its facts, an empty list section (); a
    malformed one raises `BundleFormatError` (a `FactsFormatError`) naming it. The agent's
    JSON is read in any schema ever written; one newer than this pelihara is refused
    (`NewerSchemaError`, naming both versions and the server's agent).
    """
    sections = split_sections(text)
    if AGENT_JSON in sections:
        return agent_facts(sections[AGENT_JSON])
    return raw_facts(sections)


def agent_facts(text: str) -> Facts:
    """The facts the server's own agent printed, its errors said to be the agent's."""
    try:
        return facts_from_json(text)
    except NewerSchemaError as exc:
        raise NewerSchemaError(exc.version, exc.supported, "the server's agent") from None
    except FactsFormatError as exc:
        raise BundleFormatError(str(exc), AGENT_JSON) from None


def raw_facts(sections: Mapping[str, str]) -> Facts:
    """Facts from the raw tools' sections, each read by its own section's parser."""
    interfaces = network.interfaces(sections)
    disks = storage.disks(sections)
    return Facts(
        identity=system.identity(sections),
        cpu=system.cpu(sections),
        memory_total_bytes=system.MEMINFO.read(sections),
        disks=disks,
        interfaces=interfaces,
        os=system.operating_system(sections),
        services=software.SERVICES.read(sections),
        listening_ports=network.SS.read_known(sections),
        packages=software.PACKAGES.read(sections),
        ssh_host_keys=host_keys.SSH_HOST_KEYS.read_known(sections),
    )
