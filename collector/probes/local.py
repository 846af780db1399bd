"""The local probe: this machine's facts through the agent, no network.

For a single-host user and the demo: `pelihara verify --probe local HOST` checks the
inventory's record HOST against the machine pelihara runs on, and refuses a HOST that is
another machine (`is_this_machine`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from typing import Any

import psutil

from pelihara.agent.gather import gather_facts
from pelihara.agent.health import filesystem_readings, system_fields
from pelihara.collector.probes.base import ProbeResult, ProbeStatus, Target
from pelihara.facts.model import facts_to_dict
from pelihara.facts.snapshot import CPU_STATES

USAGE = ("total_bytes", "used_bytes", "free_bytes")


class LocalProbe:
    name = "local"

    async def probe(self, target: Target) -> ProbeResult:
        facts = await asyncio.to_thread(gather_facts)
        data = {"facts": facts_to_dict(facts)}
        return ProbeResult(target.hostname, self.name, ProbeStatus.OK, data=data, facts=facts)

    async def close(self) -> None:
        return None


class SnapshotLocalProbe(LocalProbe):
    """This machine's full facts (`gather_facts("all")`) and one health sample."""

    async def probe(self, target: Target) -> ProbeResult:
        facts = await asyncio.to_thread(gather_facts, "all")
        data = {"facts": facts_to_dict(facts), "health": await asyncio.to_thread(health)}
        return ProbeResult(target.hostname, self.name, ProbeStatus.OK, data=data, facts=facts)


def health() -> dict[str, Any]:
    """One health sample of this machine in the shape the SSH health script's parser gives
    (`ssh_health.parse_health`), so both are read into one type by the same code."""
    memory, swap = psutil.virtual_memory(), psutil.swap_memory()
    times = psutil.cpu_times()
    load1, load5, load15 = os.getloadavg()
    system = system_fields()
    return {
        "load": {"load1": load1, "load5": load5, "load15": load15},
        "cpu": {"total": {f"{state}_seconds": float(getattr(times, state, 0.0))
                          for state in CPU_STATES}},
        "memory": {"MemTotal": memory.total, "MemAvailable": memory.available,
                   "SwapTotal": swap.total, "SwapFree": swap.free},
        "filesystems": {tags["mount"]: {k: int(fields[k]) for k in USAGE}
                        for _, tags, fields in filesystem_readings()},
        "uptime_seconds": float(system["uptime_seconds"]),
        "processes": system["processes"],
    }  # fmt: skip


def this_machine_name() -> str:
    """This machine's host name, up to the first dot, lower case (as the inventory has it)."""
    return socket.gethostname().split(".")[0].lower()


def _local_addresses() -> set[str]:
    found = set()
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family in (socket.AF_INET, socket.AF_INET6):
                text = address.address.split("%")[0]  # fe80::1%eth0: the zone is not ours
                found.add(ipaddress.ip_address(text).compressed)
    return found


def _loopback(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:  # an SSH host given as a name
        return False


def is_this_machine(target: Target) -> bool:
    """Whether TARGET is the machine pelihara runs on: its hostname is this machine's, or
    an address of it (or its SSH host) is a loopback address or on one of its interfaces."""
    if target.hostname.lower() == this_machine_name():
        return True
    addresses = {*target.addresses, *([target.ssh_host] if target.ssh_host else [])}
    return any(map(_loopback, addresses)) or bool(addresses & _local_addresses())
