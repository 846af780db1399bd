"""Reading the inventory: listing servers and finding one by hostname, domain or address.

Listing costs two queries whatever the number of servers (servers, then their addresses).
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from pelihara.core.errors import NotFoundError
from pelihara.inventory.fields import COLUMN_NAMES
from pelihara.inventory.models import IpAddress, Opd, Rack, Server, Site
from pelihara.inventory.records import Record

_Select = TypeVar("_Select", bound="Select[*tuple[Any, ...]]")

_SERVER_COLUMNS = [
    getattr(Server, name) for name in COLUMN_NAMES if name not in ("ip", "opd", "site", "rack")
]


@dataclass(frozen=True)
class ServerFilter:
    """`--opd` and `--site`: case-insensitive parts of the name."""

    opd: str | None = None
    site: str | None = None


def _filtered(stmt: _Select, where: ServerFilter) -> _Select:
    stmt = stmt.join(Opd, Server.opd_id == Opd.id).outerjoin(Site, Server.site_id == Site.id)
    if where.opd:
        stmt = stmt.where(func.lower(Opd.name).contains(where.opd.lower(), autoescape=True))
    if where.site:
        stmt = stmt.where(func.lower(Site.name).contains(where.site.lower(), autoescape=True))
    return stmt


def _addresses(session: Session, where: ServerFilter) -> dict[int, list[str]]:
    stmt = select(IpAddress.server_id, IpAddress.address).join(Server)
    stmt = _filtered(stmt, where).order_by(IpAddress.primary.desc(), IpAddress.id)
    by_server: dict[int, list[str]] = defaultdict(list)
    for server_id, address in session.execute(stmt):
        by_server[server_id].append(address)
    return by_server


def list_records(session: Session, where: ServerFilter | None = None) -> Iterator[Record]:
    """Every matching server's record, by hostname."""
    where = where or ServerFilter()
    addresses = _addresses(session, where)
    stmt = select(Server.id, *_SERVER_COLUMNS, Opd.name, Site.name, Rack.name)
    stmt = _filtered(stmt, where).outerjoin(Rack, Server.rack_id == Rack.id)
    for row in session.execute(stmt.order_by(Server.hostname)):
        server_id, *values, opd, site, rack = tuple(row)
        record = dict(zip((c.key for c in _SERVER_COLUMNS), values, strict=True))
        record.update(ip=addresses.get(server_id, []), opd=opd, site=site, rack=rack)
        yield {name: record[name] for name in COLUMN_NAMES}


def find_server(session: Session, key: str) -> Server:
    """The server whose hostname, IP address or domain is KEY."""
    options = (selectinload(Server.addresses), selectinload(Server.components))
    text = key.strip().lower().rstrip(".")
    try:
        address = ipaddress.ip_address(text).compressed
    except ValueError:
        address = None
    if address is not None:
        stmt = select(Server).join(IpAddress).where(IpAddress.address == address)
    else:
        stmt = select(Server).where(Server.hostname == text)
    server = session.scalars(stmt.options(*options)).first()
    if server is None and address is None:
        stmt = select(Server).where(Server.domain == text).order_by(Server.hostname)
        server = session.scalars(stmt.options(*options)).first()
    if server is None:
        raise NotFoundError(f"no server {key!r} in the inventory (give a hostname, domain or IP)")
    return server
