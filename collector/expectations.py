"""What the inventory says a server is: the targets probes reach, the values checks expect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pelihara.collector.probes.base import KnownHostKey, Target
from pelihara.inventory.statuses import ComponentStatus

if TYPE_CHECKING:
    from pelihara.inventory.models import Server


@dataclass(frozen=True)
class Expected:
    target: Target
    cpu_cores: int | None = None
    memory_gb: float | None = None
    disk_gb: float | None = None
    serial: str | None = None
    os: str | None = None
    component_serials: tuple[tuple[str, str], ...] = ()  # (kind, serial) of installed parts
    server_id: int | None = None  # the inventory's row, where its host keys are recorded

    @property
    def hostname(self) -> str:
        return self.target.hostname


def target_of(server: Server) -> Target:
    """The probes' view of SERVER (addresses primary first, recorded host keys)."""
    return Target(
        hostname=server.hostname,
        domain=server.domain,
        addresses=tuple(a.address for a in server.addresses),
        ssh_host=server.ssh_host,
        ssh_port=server.ssh_port,
        ssh_user=server.ssh_user,
        snmp_port=server.snmp_port,
        snmp_version=server.snmp_version,
        snmp_credential=server.snmp_credential,
        host_keys=tuple(KnownHostKey(k.key_type, k.fingerprint_sha256) for k in server.host_keys),
    )


def expected_of(server: Server) -> Expected:
    """Everything verification compares for SERVER."""
    parts = tuple(
        (c.kind, c.serial)
        for c in server.components
        if c.serial and c.status == ComponentStatus.INSTALLED.value
    )
    return Expected(
        target=target_of(server),
        cpu_cores=server.cpu_cores,
        memory_gb=server.memory_gb,
        disk_gb=server.disk_gb,
        serial=server.serial,
        os=server.os,
        component_serials=parts,
        server_id=server.id,
    )
