"""`pelihara inventory import`: a whole file or nothing.

The file is read and every cell parsed; then, holding the writers' lock, every row is
checked against the others and the database (`plan.py`), and every problem of both kinds is
reported at once; any problem rejects the whole file. Then, in the same transaction, each
hostname is created or updated, every change audited. A column the row does not have leaves
that field as it is, field by field; an empty cell clears it.
"""

from __future__ import annotations

import gc
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from pelihara.core.errors import InputError, Problem
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.components import (
    ComponentCounts,
    ComponentPlan,
    apply_components,
    parse_components,
    plan_components,
)
from pelihara.inventory.db import table_of, transaction
from pelihara.inventory.locking import lock_writes
from pelihara.inventory.models import IpAddress, Server, utcnow
from pelihara.inventory.names import Names
from pelihara.inventory.plan import Plan, Planned, chunks, plan_rows
from pelihara.inventory.records import server_record
from pelihara.inventory.sources import SheetOptions, Table, located, read_table
from pelihara.inventory.validate import ServerRow, parse_table

_SCALARS = (
    "domain", "rack_unit", "vendor", "model", "serial", "asset_tag", "status", "cpu_cores",
    "memory_gb", "disk_gb", "os", "ssh_host", "ssh_port", "ssh_user", "snmp_port",
    "snmp_version", "snmp_credential", "notes",
)  # fmt: skip


@dataclass(frozen=True)
class ImportSummary:
    """What an import did (or, with dry_run, would do): counts, the OPDs, sites and racks
    it created (racks as `SITE/RACK`), and warnings (a new name close to another)."""

    file: str
    created: int
    updated: int
    unchanged: int
    dry_run: bool
    new_opds: tuple[str, ...] = ()
    new_sites: tuple[str, ...] = ()
    new_racks: tuple[str, ...] = ()
    warnings: tuple[Problem, ...] = ()
    components: ComponentCounts | None = None  # None: the file holds no components


def read_rows(
    path: Path, sheet: SheetOptions | None = None
) -> tuple[str, list[ServerRow], tuple[int, list[str]] | None, list[Problem]]:
    """Read and parse PATH on its own: (file name, rows, header line and columns, problems)."""
    table = read_table(path, sheet)
    with located(table):
        file, rows, header, problems = rows_of(table)
    return file, rows, header, [table.locate(problem) for problem in problems]


def rows_of(
    table: Table,
) -> tuple[str, list[ServerRow], tuple[int, list[str]] | None, list[Problem]]:
    """Parse a file's TABLE on its own: (file name, rows, header line and columns, problems)."""
    rows, problems = parse_table(table)
    header = (table.header_line, table.columns) if table.header_line else None
    return table.file, rows, header, problems


def _place(planned: Planned, names: Names, audit: AuditLog) -> None:
    """Give an existing server the OPD, site and rack of its merged record."""
    server, record, given = planned.server, planned.record, planned.row.given
    assert server is not None
    if "opd" in given:
        server.opd = names.opd(audit, str(record["opd"]))
    if given & {"site", "rack"}:
        server.site = names.site(audit, _text(record["site"]))
        server.rack = names.rack_of(audit, server.site, _text(record["rack"]))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _release_addresses(session: Session, planned: list[Planned]) -> None:
    """Delete addresses that updated servers no longer hold, before any is given to another."""
    for item in planned:
        if item.server is None or "ip" not in item.row.given:
            continue
        keep = set(item.record["ip"])
        for address in [a for a in item.server.addresses if a.address not in keep]:
            item.server.addresses.remove(address)
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


def update_server(planned: Planned, names: Names, audit: AuditLog, action: str = "update") -> bool:
    """Write the given columns of an existing server's row; audited when anything changed."""
    server, before = planned.server, planned.before
    assert server is not None
    for name in _SCALARS:
        if name in planned.row.given:
            setattr(server, name, planned.record[name])
    _place(planned, names, audit)
    if "ip" in planned.row.given:
        _set_addresses(server, planned.record["ip"])
    after = server_record(server)
    if after == before:
        return False
    audit.append(action, "server", server.hostname, before, after)
    return True


def _ids(session: Session, hostnames: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in chunks(hostnames):
        stmt = select(Server.hostname, Server.id).where(Server.hostname.in_(chunk))
        found.update({hostname: server_id for hostname, server_id in session.execute(stmt)})
    return found


def _insert_new(session: Session, new: list[Planned], names: Names, audit: AuditLog) -> None:
    """New servers with multi-row INSERTs: the ORM's per-object work costs ~1 ms a row."""
    if not new:
        return
    places = []
    for item in new:
        site = names.site(audit, _text(item.record["site"]))
        rack = names.rack_of(audit, site, _text(item.record["rack"]))
        places.append((names.opd(audit, str(item.record["opd"])), site, rack))
    session.flush()  # new OPDs, sites and racks get their ids
    now = utcnow()
    servers = [
        {**{name: item.record[name] for name in _SCALARS}, "hostname": item.record["hostname"],
         "opd_id": opd.id, "site_id": site.id if site else None,
         "rack_id": rack.id if rack else None, "created_at": now, "updated_at": now}
        for item, (opd, site, rack) in zip(new, places, strict=True)
    ]  # fmt: skip
    # Core inserts, then the ids by hostname: the ORM's bulk INSERT ... RETURNING splices
    # its batches' results quadratically (70 s for 10,000 rows on SQLite).
    session.execute(insert(table_of(Server)), servers)
    id_of = _ids(session, [item.record["hostname"] for item in new])
    addresses = [
        {"server_id": id_of[item.record["hostname"]], "address": address,
         "primary": position == 0, "version": 6 if ":" in address else 4}
        for item in new
        for position, address in enumerate(item.record["ip"])
    ]  # fmt: skip
    if addresses:
        session.execute(insert(table_of(IpAddress)), addresses)
    audit.extend([("create", "server", item.record["hostname"], None, item.record) for item in new])


def checked_plan(
    session: Session,
    file: str,
    rows: list[ServerRow],
    header: tuple[int, list[str]] | None = None,
    problems: list[Problem] | None = None,
    strict: bool = False,
    outcome: str = "nothing was imported",
) -> Plan:
    """Take the writers' lock, then plan ROWS; every problem (the file's own PROBLEMS too)
    in one `InputError` that ends with OUTCOME.

    The lock comes first: what is checked and read here is what gets changed, not what
    another import is changing at the same moment."""
    lock_writes(session)
    plan = plan_rows(session, file, rows, header, strict)
    _refuse([*(problems or []), *plan.problems], outcome)
    return plan


def apply_plan(session: Session, plan: Plan, audit: AuditLog) -> dict[str, int]:
    """Create or update every planned server in SESSION; returns counts by outcome."""
    existing = [item for item in plan.planned if item.server is not None]
    _release_addresses(session, existing)
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for item in existing:
        counts["updated" if update_server(item, plan.names, audit) else "unchanged"] += 1
    new = [item for item in plan.planned if item.server is None]
    _insert_new(session, new, plan.names, audit)
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
    strict: bool = False,
    sheet: SheetOptions | None = None,
) -> ImportSummary:
    """Validate PATH against the database, then import it whole in one transaction (rolled
    back when DRY_RUN). STRICT: a new name close to another one is a problem. SHEET chooses
    an XLSX file's sheet and header row (default: found); its problems name their cells."""
    with _no_garbage_collection():
        table = read_table(path, sheet)
        with located(table):
            file, rows, header, problems = rows_of(table)
            part_table = table.components or Table(file, [], header_line=0)
            parts, part_problems = parse_components(part_table)
            with transaction(factory, commit=not dry_run) as session:
                lock_writes(session)
                plan = plan_rows(session, file, rows, header, strict)
                new = [item.record["hostname"] for item in plan.planned if item.server is None]
                part_plan = plan_components(session, file, parts, new)
                part_problems += [part_table.locate(p) for p in part_plan.problems]
                _refuse([*problems, *plan.problems, *part_problems])
                audit = AuditLog(session, actor)
                counts = apply_plan(session, plan, audit)
                done = _components(session, table, part_plan, audit)
    names = plan.names
    return ImportSummary(
        file, dry_run=dry_run, **counts, new_opds=tuple(names.created("opd")),
        new_sites=tuple(names.created("site")), new_racks=tuple(names.created("rack")),
        warnings=tuple(plan.warnings), components=done,
    )  # fmt: skip


def _refuse(problems: list[Problem], outcome: str = "nothing was imported") -> None:
    if problems:
        raise InputError(problems, outcome)


def _components(
    session: Session, table: Table, plan: ComponentPlan, audit: AuditLog
) -> ComponentCounts | None:
    """Write the file's components, after its servers: None when the file has none."""
    if table.components is None:
        return None
    return apply_components(session, plan, audit)
