"""The completeness form (*formulir kelengkapan*, SOP step 5): the devices to be maintained,
as the inventory holds them at the moment the OPD confirms them.

A pure read of the inventory into a plain dict: the same inventory gives the same dict (every
list sorted), so its canonical JSON and SHA-256 are stable, and the next issue prints it as
a document from the record alone. Example (one server, shortened):

    {"ticket": "2026/0001", "opd": "Dinas Kesehatan",
     "servers": [{"hostname": "dinkes-web01", "domain": "web.dinkes.go.id",
                  "addresses": [{"address": "10.0.0.11", "version": 4, "interface": null,
                                 "primary": true}],
                  "site": "DC Utama", "rack": "R01", "rack_unit": 12,
                  "vendor": "Dell", "model": "R740", "serial": "SN123", "asset_tag": "A-7",
                  "status": "active", "cpu_cores": 16, "memory_gb": 64.0, "disk_gb": 960.0,
                  "os": "Debian 12",
                  "components": [{"kind": "disk", "model": "ST4000", "serial": "ZC1",
                                  "slot": "bay 1", "status": "installed"}]}]}
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pelihara.inventory.models import Component, IpAddress, Server
from pelihara.maintenance.models import Ticket

SERVER_FIELDS = ("hostname", "domain", "rack_unit", "vendor", "model", "serial", "asset_tag",
                 "status", "cpu_cores", "memory_gb", "disk_gb", "os")  # fmt: skip
COMPONENT_FIELDS = ("kind", "model", "serial", "slot", "status")


def completeness_form(session: Session, ticket: Ticket) -> dict[str, Any]:
    """TICKET's servers and their parts as the inventory holds them now (see the module)."""
    ids = [server.server_id for server in ticket.servers]
    stmt = (select(Server).where(Server.id.in_(ids))
            .options(selectinload(Server.addresses), selectinload(Server.components),
                     selectinload(Server.site), selectinload(Server.rack)))  # fmt: skip
    servers = sorted(session.scalars(stmt), key=lambda server: server.hostname)
    return {"ticket": ticket.reference, "opd": ticket.opd_name,
            "servers": [server_entry(server) for server in servers]}  # fmt: skip


def server_entry(server: Server) -> dict[str, Any]:
    """One server of the form: where it stands, what it is, its addresses and parts."""
    entry: dict[str, Any] = {name: getattr(server, name) for name in SERVER_FIELDS}
    entry["site"] = server.site.name if server.site else None
    entry["rack"] = server.rack.name if server.rack else None
    entry["addresses"] = [_address(a) for a in sorted(server.addresses, key=_address_order)]
    entry["components"] = [_component(c) for c in sorted(server.components, key=_part_order)]
    return entry


def _address(address: IpAddress) -> dict[str, Any]:
    return {"address": address.address, "version": address.version,
            "interface": address.interface, "primary": address.primary}  # fmt: skip


def _address_order(address: IpAddress) -> tuple[bool, int, str]:
    return (not address.primary, address.version, address.address)  # the primary first


def _component(component: Component) -> dict[str, Any]:
    return {name: getattr(component, name) for name in COMPONENT_FIELDS}


def _part_order(component: Component) -> tuple[str, str, str, str]:
    return (component.kind, component.slot or "", component.serial or "", component.model or "")
