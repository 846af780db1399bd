"""`pelihara inventory import`: a whole file or nothing.

The file is read and every row validated first; any problem rejects the whole file.
Then, in one transaction, each hostname is created or updated, every change audited.
A column the file does not have leaves that field as it is; an empty cell clears it.
"""

from __future__ import annotations

import gc
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from pelihara.core.errors import InputError, Problem
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.db import table_of, transaction
from pelihara.inventory.fields import COLUMN_NAMES
from pelihara.inventory.locking import lock_writes
from pelihara.inventory.models import IpAddress, Opd, Rack, Server, ServerStatus, Site, utcnow
from pelihara.inventory.records import Record, server_record
from pelihara.inventory.sources import SheetOptions, Table, located, read_table
from pelihara.inventory.validate import (
    CHUNK,
    ServerRow,
    check_database,
    check_duplicates,
    check_header,
    parse_row,
)

_T = TypeVar("_T", Opd, Site, Rack)

_SCALARS = (
    "domain", "rack_unit", "vendor", "model", "serial", "asset_tag", "status", "cpu_cores",
    "memory_gb", "disk_gb", "os", "ssh_host", "ssh_port", "ssh_user", "snmp_port",
    "snmp_version", "snmp_credential", "notes",
)  # fmt: skip


@dataclass(frozen=True)
class ImportSummary:
    """What an import did (or, with dry_run, would do)."""

    file: str
    created: int
    updated: int
    unchanged: int
    dry_run: bool


def validated_rows(path: Path, sheet: SheetOptions | None = None) -> tuple[str, list[ServerRow]]:
    """Read and validate PATH on its own; raises `InputError` listing every problem."""
    table = read_table(path, sheet)
    with located(table):
        return table.file, validated_table(table)


def validated_table(table: Table) -> list[ServerRow]:
    """Validate a file's TABLE on its own; raises `InputError` listing every problem."""
    problems: list[Problem] = [*table.problems, *check_header(table)]
    rows = []
    for raw in table.rows:
        row, row_problems = parse_row(table, raw)
        rows.append(row)
        problems += row_problems
    problems += check_duplicates(table.file, rows)
    if not rows and not problems:
        problems.append(Problem(table.file, 0, "", "the file holds no servers"))
    if problems:
        raise InputError(problems)
    return rows


class _Catalog:
    """OPDs, sites and racks by name, loaded once and created when first named."""

    def __init__(self, session: Session, audit: AuditLog) -> None:
        self.session, self.audit = session, audit
        self.opds = {o.name: o for o in session.scalars(select(Opd))}
        self.sites = {s.name: s for s in session.scalars(select(Site))}
        self.racks = {(r.site.name, r.name): r for r in session.scalars(select(Rack).join(Site))}

    def opd(self, name: str) -> Opd:
        if name not in self.opds:
            self.opds[name] = self._create(Opd(name=name), "opd", name)
        return self.opds[name]

    def site(self, name: str | None) -> Site | None:
        if name is None:
            return None
        if name not in self.sites:
            self.sites[name] = self._create(Site(name=name), "site", name)
        return self.sites[name]

    def rack(self, site: Site | None, name: str | None) -> Rack | None:
        if site is None or name is None:
            return None
        if (site.name, name) not in self.racks:
            rack = self._create(Rack(site=site, name=name), "rack", f"{site.name}/{name}")
            self.racks[(site.name, name)] = rack
        return self.racks[(site.name, name)]

    def _create(self, obj: _T, entity: str, key: str) -> _T:
        self.session.add(obj)
        self.audit.append("create", entity, key, None, {"name": key})
        return obj


def _existing(session: Session, hostnames: list[str]) -> dict[str, Server]:
    found: dict[str, Server] = {}
    options = (
        selectinload(Server.addresses),
        selectinload(Server.opd),
        selectinload(Server.site),
        selectinload(Server.rack),
    )
    for start in range(0, len(hostnames), CHUNK):
        chunk = hostnames[start : start + CHUNK]
        stmt = select(Server).where(Server.hostname.in_(chunk)).options(*options)
        found.update({server.hostname: server for server in session.scalars(stmt)})
    return found


def _scalars(row: ServerRow) -> dict[str, object]:
    """The row's plain columns that the file gave; an empty status means active."""
    values: dict[str, object] = {name: row.values[name] for name in _SCALARS if name in row.values}
    if "status" in values and values["status"] is None:
        values["status"] = ServerStatus.ACTIVE.value
    return values


def _assign(server: Server, row: ServerRow, catalog: _Catalog) -> None:
    values = row.values
    for name, value in _scalars(row).items():
        setattr(server, name, value)
    if "opd" in values:
        server.opd = catalog.opd(str(values["opd"]))
    if "site" in values or "rack" in values:
        site = catalog.site(_text(values.get("site", server.site.name if server.site else None)))
        server.site = site
        server.rack = catalog.rack(site, _text(values.get("rack")))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _release_addresses(session: Session, servers: dict[str, Server], rows: list[ServerRow]) -> None:
    """Delete addresses that updated servers no longer hold, before any is given to another."""
    for row in rows:
        server = servers.get(row.hostname)
        if server is None:
            continue
        keep = set(row.addresses)
        for address in [a for a in server.addresses if a.address not in keep]:
            server.addresses.remove(address)
    session.flush()


def _set_addresses(server: Server, addresses: list[str]) -> None:
    by_text = {a.address: a for a in server.addresses}
    for position, text in enumerate(addresses):
        address = by_text.get(text)
        if address is None:
            version = ipaddress.ip_address(text).version
            address = IpAddress(address=text, version=version)
            server.addresses.append(address)
        address.primary = position == 0
    # Keep the relationship list in file order, so the record reads back primary first.
    order = {text: i for i, text in enumerate(addresses)}
    server.addresses.sort(key=lambda a: order.get(a.address, len(order)))


def _update(row: ServerRow, server: Server, before: Record, catalog: _Catalog) -> str:
    _assign(server, row, catalog)
    _set_addresses(server, row.addresses)
    after = server_record(server)
    if after == before:
        return "unchanged"
    catalog.audit.append("update", "server", row.hostname, before, after)
    return "updated"


def _new_record(row: ServerRow) -> Record:
    """The record a new server will have: what `server_record` reads back after the insert."""
    record: Record = dict.fromkeys(COLUMN_NAMES)
    record.update(row.values)
    record.update(_scalars(row), ip=row.addresses)
    record["status"] = record["status"] or ServerStatus.ACTIVE.value
    return record


def _ids(session: Session, hostnames: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(hostnames), CHUNK):
        stmt = select(Server.hostname, Server.id).where(
            Server.hostname.in_(hostnames[start : start + CHUNK])
        )
        found.update({hostname: server_id for hostname, server_id in session.execute(stmt)})
    return found


def _insert_new(session: Session, rows: list[ServerRow], catalog: _Catalog) -> None:
    """New servers with multi-row INSERTs: the ORM's per-object work costs ~1 ms a row."""
    if not rows:
        return
    places = []
    for row in rows:
        site = catalog.site(_text(row.values.get("site")))
        rack = catalog.rack(site, _text(row.values.get("rack")))
        places.append((catalog.opd(str(row.values["opd"])), site, rack))
    session.flush()  # new OPDs, sites and racks get their ids
    records = [_new_record(row) for row in rows]
    now = utcnow()
    servers = [
        {**{name: record[name] for name in _SCALARS}, "hostname": row.hostname,
         "opd_id": opd.id, "site_id": site.id if site else None,
         "rack_id": rack.id if rack else None, "created_at": now, "updated_at": now}
        for row, record, (opd, site, rack) in zip(rows, records, places, strict=True)
    ]  # fmt: skip
    # Core inserts, then the ids by hostname: the ORM's bulk INSERT ... RETURNING splices
    # its batches' results quadratically (70 s for 10,000 rows on SQLite).
    session.execute(insert(table_of(Server)), servers)
    id_of = _ids(session, [row.hostname for row in rows])
    ids = [id_of[row.hostname] for row in rows]
    addresses = [
        {"server_id": server_id, "address": address, "primary": position == 0,
         "version": 6 if ":" in address else 4}
        for server_id, row in zip(ids, rows, strict=True)
        for position, address in enumerate(row.addresses)
    ]  # fmt: skip
    if addresses:
        session.execute(insert(table_of(IpAddress)), addresses)
    catalog.audit.extend([("create", "server", r["hostname"], None, r) for r in records])


def apply_rows(session: Session, file: str, rows: list[ServerRow], actor: str) -> dict[str, int]:
    """Create or update every row in SESSION; returns counts by outcome.

    The writers' lock comes first: what is checked and read here is what gets changed, not
    what another import is changing at the same moment."""
    lock_writes(session)
    problems = check_database(session, file, rows)
    if problems:
        raise InputError(problems)
    existing = _existing(session, [row.hostname for row in rows])
    befores = {hostname: server_record(server) for hostname, server in existing.items()}
    _release_addresses(session, existing, rows)
    catalog = _Catalog(session, AuditLog(session, actor))
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for row in rows:
        if row.hostname in existing:
            host = row.hostname
            counts[_update(row, existing[host], befores[host], catalog)] += 1
    new = [row for row in rows if row.hostname not in existing]
    _insert_new(session, new, catalog)
    counts["created"] = len(new)
    session.flush()
    return counts


@contextmanager
def _no_garbage_collection() -> Iterator[None]:
    """Tens of thousands of new objects set off the cycle collector again and again (~25 %
    of an import); they hold no cycles worth collecting before the import ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def import_file(
    factory: sessionmaker[Session],
    path: Path,
    actor: str,
    dry_run: bool = False,
    sheet: SheetOptions | None = None,
) -> ImportSummary:
    """Validate PATH, then import it whole in one transaction (rolled back when DRY_RUN).

    SHEET chooses an XLSX file's sheet and header row (default: found)."""
    with _no_garbage_collection():
        table = read_table(path, sheet)
        with located(table):
            rows = validated_table(table)
            with transaction(factory, commit=not dry_run) as session:
                counts = apply_rows(session, table.file, rows, actor)
    return ImportSummary(table.file, dry_run=dry_run, **counts)
