"""What every probe shares: the target it looks at, and the result it returns.

A probe never raises for a host's fault (unreachable, auth refused, host key changed): it
returns a `ProbeResult` with a status, so one host failing never stops a scan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from pelihara.facts.model import Facts


class ProbeStatus(StrEnum):
    OK = "ok"
    UNREACHABLE = "unreachable"  # nothing answered: refused, timed out, no route
    REFUSED = "refused"  # it answered but would not let us in: auth, host key, community
    ERROR = "error"  # something else went wrong; `error` says what


@dataclass(frozen=True)
class KnownHostKey:
    key_type: str
    fingerprint_sha256: str


@dataclass(frozen=True)
class Target:
    """One server as the inventory describes it: what to reach and what to expect."""

    hostname: str
    domain: str
    addresses: tuple[str, ...]  # primary first
    ssh_host: str | None = None
    ssh_port: int | None = None
    ssh_user: str | None = None
    snmp_port: int | None = None
    snmp_version: str | None = None
    snmp_credential: str | None = None
    host_keys: tuple[KnownHostKey, ...] = ()

    @property
    def address(self) -> str:
        """Where to connect: the SSH host if set, else the primary address."""
        return self.ssh_host or self.addresses[0]


@dataclass(frozen=True)
class ProbeResult:
    """What one probe saw of one host. `data` is JSON-ready and kept as the raw observation."""

    host: str
    source: str  # the probe's name: "ssh", "snmp", "dns", "local"
    status: ProbeStatus
    data: dict[str, Any] = field(default_factory=dict)
    facts: Facts | None = None
    error: str | None = None
    security: tuple[str, ...] = ()  # security findings (a changed host key)
    seen_host_keys: tuple[KnownHostKey, ...] = ()  # keys to record (trust on first use)

    @property
    def ok(self) -> bool:
        return self.status is ProbeStatus.OK


class Probe(Protocol):
    """Looks at one host at a time; safe to run for many hosts concurrently."""

    name: str

    async def probe(self, target: Target) -> ProbeResult: ...

    async def close(self) -> None: ...
