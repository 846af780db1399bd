"""Interfaces and listening ports: the sections that read them (`ip`, sysfs, `ss`), their
parsers, and the address rules the agent's psutil reads share with them.

>>> sorted_addresses(["10.0.0.10", "10.0.0.9"]), plain_address("[fe80::1]%eth0")
(('10.0.0.9', '10.0.0.10'), 'fe80::1')
"""

from __future__ import annotations

import ipaddress
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from pelihara.facts.model import Interface, ListeningPort
from pelihara.facts.output import OutputFormatError, optional_int, optional_text
from pelihara.facts.section import Section

_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2})*")
_MAC_OCTETS = {6, 8, 20}  # Ethernet/Wi-Fi (EUI-48), EUI-64, InfiniBand


def mac_address(text: str | None) -> str | None:
    """A link-layer address in lower case, or None: absent, all zeros (loopback), or not a
    hardware address (tunnels print an IPv4 address or 4 zero bytes)."""
    value = (text or "").strip().lower()
    if not _MAC.fullmatch(value) or len(value.split(":")) not in _MAC_OCTETS:
        return None
    return None if set(value) <= {"0", ":"} else value


def plain_address(text: str) -> str:
    """An IP address without brackets or a `%zone` suffix: "[fe80::1]%eth0" -> "fe80::1"."""
    return text.split("%", 1)[0].strip("[]")


def sorted_addresses(addresses: Iterable[str]) -> tuple[str, ...]:
    """Distinct addresses in numeric order (10.0.0.9 before 10.0.0.10)."""
    distinct = set(addresses)
    if len(distinct) < 2:  # the usual case: nothing to order, so no address to parse
        return tuple(distinct)
    return tuple(sorted(distinct, key=_address_key))


def _address_key(text: str) -> tuple[int, int, str]:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return (9, 0, text)
    return (address.version, int(address), text)


def merge_ports(found: Iterable[tuple[ListeningPort, int | None]]) -> tuple[ListeningPort, ...]:
    """One entry per (protocol, address, port), sorted by (protocol, port, address).

    A socket shared by several processes (a pre-forking server) is named after the lowest
    visible pid: the parent, in practice, and the same answer from psutil and from `ss`.
    """
    best: dict[tuple[str, int, str], tuple[int, ListeningPort]] = {}
    for port, pid in found:
        key = (port.protocol, port.port, port.address)
        rank = sys.maxsize if pid is None or port.process is None else pid
        if key not in best or rank < best[key][0]:
            best[key] = (rank, port)
    return tuple(best[key][1] for key in sorted(best))


# --- ip -j addr, /sys/class/net/*/speed -----------------------------------------------------


def parse_net_speeds(text: str) -> dict[str, int | None]:
    """`NAME SPEED` lines from /sys/class/net/*/speed, in Mbps. The kernel reports -1 (or
    refuses the read, leaving SPEED empty) when the speed is unknown: None."""
    speeds: dict[str, int | None] = {}
    for line in text.splitlines():
        words = line.split()
        if words:
            speed = optional_int(words[1]) if len(words) > 1 else None
            speeds[words[0]] = speed if speed is not None and speed > 0 else None
    return speeds


def parse_ip_addr(text: str, speeds: dict[str, int | None] | None = None) -> tuple[Interface, ...]:
    """`ip -j addr`: every interface with its link address, state and addresses; `speeds`
    from `parse_net_speeds`."""
    if not text.strip():
        return ()
    links = _ip_links(text)
    found = [_interface(link, (speeds or {}).get(str(link["ifname"]))) for link in links]
    return tuple(sorted(found, key=lambda interface: interface.name))


def _ip_links(text: str) -> list[dict[str, Any]]:
    try:
        links = json.loads(text)
    except ValueError as exc:
        raise OutputFormatError(f"ip -j addr is not JSON: {exc}") from None
    if not isinstance(links, list) or not all(
        isinstance(link, dict) and link.get("ifname") for link in links
    ):
        raise OutputFormatError("ip -j addr is not a list of interfaces")
    return links


def _interface(link: dict[str, Any], speed: int | None) -> Interface:
    flags = [str(flag) for flag in link.get("flags") or ()]
    addresses = [item for item in link.get("addr_info") or () if isinstance(item, dict)]
    return Interface(
        name=str(link["ifname"]),
        mac=mac_address(optional_text(link.get("address"))),
        # IFF_RUNNING, as psutil's isup: `ip` prints UP, and NO-CARRIER when UP but not RUNNING.
        is_up="UP" in flags and "NO-CARRIER" not in flags,
        speed_mbps=speed,
        ipv4=sorted_addresses(str(a["local"]) for a in addresses if a.get("family") == "inet"),
        ipv6=sorted_addresses(
            plain_address(str(a["local"])) for a in addresses if a.get("family") == "inet6"
        ),
    )


# --- ss -Htulnp ---------------------------------------------------------------------------

_SS_USER = re.compile(r'\("((?:[^"\\]|\\.)*)",pid=(\d+),')


def parse_ss(text: str) -> tuple[ListeningPort, ...]:
    """`ss -Htulnp`: `NETID STATE RECV-Q SEND-Q LOCAL PEER [users:(("name",pid=N,fd=M),...)]`.

    LOCAL is `addr:port`, `[v6addr]:port`, maybe with `%iface`; modern ss prints `*` for
    the dual-stack IPv6 wildcard, which psutil reports as "::". The owner is visible only
    to root or the socket's own user.
    """
    found = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if len(words) < 6 or words[0] not in ("tcp", "udp"):
            raise OutputFormatError(f"not an ss -tuln line: {line!r}")
        address, port = _ss_local(words[4])
        name, pid = _ss_owner(" ".join(words[6:]))
        found.append((ListeningPort(words[0], address, port, name), pid))
    return merge_ports(found)


def _ss_local(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not port.isdigit():
        raise OutputFormatError(f"ss local address without a port: {text!r}")
    address = plain_address(host)
    return ("::" if address == "*" else address), int(port)


def _ss_owner(text: str) -> tuple[str | None, int | None]:
    owners = [(int(pid), name) for name, pid in _SS_USER.findall(text)]
    if not owners:
        return None, None
    pid, name = min(owners)
    return name, pid


# --- the sections -------------------------------------------------------------------------

# `|| failed`: no ip (or one without -j, before iproute2 4.13) is "not read", not "none".
IP_ADDR = Section("ip-addr", "ip -j addr 2>/dev/null || failed", parse_ip_addr)
NET_SPEED = Section(
    "net-speed",
    r"""for d in /sys/class/net/*; do
  [ -e "$d" ] && { get "$d/speed"; printf '%s %s\n' "${d##*/}" "$l"; }
done
""",
    parse_net_speeds,
)
SS = Section("ss", "ss -Htulnp 2>/dev/null || failed", parse_ss)


def interfaces(sections: Mapping[str, str]) -> tuple[Interface, ...] | None:
    """Every interface, with the link speed the kernel knows; None when `ip` was not read."""
    speeds = NET_SPEED.read(sections)
    found = IP_ADDR.read_known(sections)
    if found is None:
        return None
    # Replaced only where the kernel knows a speed (`dataclasses.replace` is slow to call).
    return tuple(
        nic
        if nic.speed_mbps == speeds.get(nic.name)
        else replace(nic, speed_mbps=speeds.get(nic.name))
        for nic in found
    )
