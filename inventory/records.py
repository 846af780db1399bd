"""A server as a flat record: the columns of the import/export files, in their order.

The same record is what `list`, `show` and `export` print and what the audit log stores as
*before* and *after*, so an export re-imported gives the same records.
"""

from __future__ import annotations

from typing import Any

from pelihara.inventory.fields import COLUMN_NAMES
from pelihara.inventory.models import Component, Server

Record = dict[str, Any]

_PLAIN = (
    "hostname", "domain", "rack_unit", "vendor", "model", "serial", "asset_tag", "status",
    "cpu_cores", "memory_gb", "disk_gb", "os", "ssh_host", "ssh_port", "ssh_user",
    "snmp_port", "snmp_version", "snmp_credential", "notes",
)  # fmt: skip


def server_record(server: Server) -> Record:
    """The server's record; `ip` lists its addresses, primary first.

    >>> server_record(server)                       # doctest: +SKIP
    {'hostname': 'dinkes-web01', 'ip': ['10.20.1.11'], 'domain': 'simpus.dinkes...', ...}
    """
    values: Record = {name: getattr(server, name) for name in _PLAIN}
    values["ip"] = [address.address for address in server.addresses]
    values["opd"] = server.opd.name
    values["site"] = server.site.name if server.site else None
    values["rack"] = server.rack.name if server.rack else None
    return {name: values[name] for name in COLUMN_NAMES}


def component_record(component: Component, hostname: str) -> Record:
    """The audited record of a component: what the file gives, its server by hostname."""
    return {
        "hostname": hostname, "kind": component.kind, "model": component.model,
        "serial": component.serial, "slot": component.slot, "status": component.status,
    }  # fmt: skip
