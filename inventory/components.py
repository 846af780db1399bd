"""`pelihara inventory import-components`: a server's parts from a CSV, whole or nothing.

One row a component, keyed by its server's hostname: `hostname,kind,model,serial,status`
(Indonesian headers `Nama Host`, `Jenis`, `Model`, `Nomor Seri`, `Status` too). A serial
names one component: a serial already held by another server's component, or given twice
in the file, is refused; a serial the server already holds updates that component. Every
problem of the file is reported at once, and then nothing is written. Each component is
audited as its own row (`component`, keyed by serial).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pelihara.core.errors import InputError, Problem
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.db import transaction
from pelihara.inventory.locking import lock_writes
from pelihara.inventory.models import Component, ComponentKind, ComponentStatus, Server
from pelihara.inventory.plan import chunks
from pelihara.inventory.records import Record, component_record
from pelihara.inventory.sources import _decode, _delimiter, normalise_column

COLUMNS = ("hostname", "kind", "model", "serial", "status")
REQUIRED = ("hostname", "kind", "serial")
ALIASES = {
    "nama_host": "hostname", "host": "hostname", "jenis": "kind", "tipe": "kind",
    "nomor_seri": "serial", "no_seri": "serial", "serial_number": "serial",
}  # fmt: skip
_CHOICES = {"kind": {k.value for k in ComponentKind}, "status": {s.value for s in ComponentStatus}}


@dataclass(frozen=True)
class ComponentRow:
    """One component of the file: its line and its values by column."""

    line: int
    values: dict[str, str | None]


@dataclass(frozen=True)
class ComponentSummary:
    """What an import of components did (or, with dry_run, would do)."""

    file: str
    created: int
    updated: int
    unchanged: int
    dry_run: bool


def _column(name: str) -> str | None:
    key = normalise_column(name)
    key = ALIASES.get(key, key)
    return key if key in COLUMNS else None


def read_components(path: Path) -> tuple[list[ComponentRow], list[Problem]]:
    """Parse the components CSV at PATH on its own: its rows and its problems."""
    if not path.is_file():
        raise InputError([Problem(str(path), 0, "", "no such file")])
    text = _decode(path)
    first = text.splitlines()[0] if text else ""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first))
    file, rows = str(path), []
    header: list[str | None] = []
    problems: list[Problem] = []
    for record in reader:
        if not header:
            header = [_column(name) for name in record] or [None]
            problems += _header_problems(file, header)
            continue
        values = {n: (v.strip() or None) for n, v in zip(header, record, strict=False) if n}
        if any(values.values()):
            rows.append(ComponentRow(reader.line_num, values))
            problems += _cell_problems(file, rows[-1])
    return rows, problems


def _header_problems(file: str, header: list[str | None]) -> Iterator[Problem]:
    for name in REQUIRED:
        if name not in header:
            yield Problem(file, 1, name, "required column is missing")


def _cell_problems(file: str, row: ComponentRow) -> Iterator[Problem]:
    for name in REQUIRED:
        if name in row.values and not row.values[name]:
            yield Problem(file, row.line, name, "required value is missing")
    for name, choices in _CHOICES.items():
        value = row.values.get(name)
        if value is not None:
            row.values[name] = value = value.lower()
            if value not in choices:
                known = ", ".join(sorted(choices))
                yield Problem(file, row.line, name, f"unknown {name} {value!r}; use one of {known}")


def _servers(session: Session, hostnames: list[str]) -> dict[str, Server]:
    found: dict[str, Server] = {}
    for chunk in chunks(sorted(set(hostnames))):
        stmt = select(Server).where(Server.hostname.in_(chunk))
        found.update({server.hostname: server for server in session.scalars(stmt)})
    return found


def _held(session: Session, serials: list[str]) -> dict[str, Component]:
    """The components of the database that hold those serials."""
    found: dict[str, Component] = {}
    for chunk in chunks(sorted(set(serials))):
        stmt = select(Component).where(Component.serial.in_(chunk))
        found.update({c.serial: c for c in session.scalars(stmt) if c.serial})
    return found


def _plan_problems(
    file: str, rows: list[ComponentRow], servers: dict[str, Server], held: dict[str, Component]
) -> Iterator[Problem]:
    """Unknown hostnames, serials twice in the file or held by another server's component."""
    first_line: dict[str, int] = {}
    for row in rows:
        hostname, serial = row.values.get("hostname"), row.values.get("serial")
        if hostname and hostname not in servers:
            yield Problem(file, row.line, "hostname", f"no server {hostname} in the inventory")
        if not serial:
            continue
        if serial in first_line:
            yield Problem(file, row.line, "serial",
                          f"serial {serial} is also on line {first_line[serial]}")  # fmt: skip
        first_line.setdefault(serial, row.line)
        other = held.get(serial)
        if other is not None and hostname in servers and other.server_id != servers[hostname].id:
            yield Problem(file, row.line, "serial",
                          f"serial {serial} is a component of {other.server.hostname}")  # fmt: skip


def _write(session: Session, row: ComponentRow, server: Server, held: dict[str, Component],
           audit: AuditLog) -> str:  # fmt: skip
    """Create or update one component; audited when anything changed. Returns the outcome."""
    serial = str(row.values["serial"])
    component = held.get(serial)
    before = component_record(component, server.hostname) if component else None
    if component is None:
        component = Component(server=server, kind=row.values["kind"], serial=serial)
        component.status = ComponentStatus.INSTALLED.value
        session.add(component)
    for name in ("kind", "model", "status"):
        if name in row.values and (name == "model" or row.values[name]):
            setattr(component, name, row.values[name])
    after = component_record(component, server.hostname)
    if after == before:
        return "unchanged"
    audit.append("update" if before else "create", "component", serial, before, after)
    return "updated" if before else "created"


def import_components(
    factory: sessionmaker[Session], path: Path, actor: str, dry_run: bool = False
) -> ComponentSummary:
    """Validate the components CSV at PATH against the database, then write it whole."""
    rows, problems = read_components(path)
    file = str(path)
    with transaction(factory, commit=not dry_run) as session:
        lock_writes(session)
        servers = _servers(session, [str(r.values["hostname"]) for r in rows
                                     if r.values.get("hostname")])  # fmt: skip
        held = _held(session, [str(r.values["serial"]) for r in rows if r.values.get("serial")])
        problems += _plan_problems(file, rows, servers, held)
        if problems:
            raise InputError(problems, "nothing was imported")
        audit = AuditLog(session, actor)
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        for row in rows:
            counts[_write(session, row, servers[str(row.values["hostname"])], held, audit)] += 1
        session.flush()
    return ComponentSummary(file, dry_run=dry_run, **counts)


def component_records(session: Session) -> list[Record]:
    """Every component as the import reads it, by hostname, kind and serial."""
    stmt = select(Component, Server.hostname).join(Component.server)
    records = [component_record(c, hostname) for c, hostname in session.execute(stmt)]
    return sorted(records, key=lambda r: (r["hostname"], r["kind"], r["serial"] or ""))


def export_components(session: Session, path: Path, force: bool = False) -> int:
    """Write every component to the CSV at PATH (refused if it exists, unless FORCE)."""
    records = component_records(session)
    with path.open("w" if force else "x", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        writer.writerows([[record[name] or "" for name in COLUMNS] for record in records])
    return len(records)
