"""A server's parts (disks, PSUs, NICs, ...): from a file, whole or nothing, and back out.

Components come from three places, read the same way: a CSV keyed by hostname
(`inventory import-components`), the `components` sheet of an XLSX workbook, and a
`components:` list under a server in YAML (`inventory import`, in the same transaction
as the servers). Columns: `hostname,kind,model,serial,slot,status` (Indonesian headers
`Nama Host`, `Jenis`, `Tipe`, `Nomor Seri`, `Posisi`, `Status` too: `aliases.py`).

A serial names one component: a serial already held by another server's component, or
given twice in the file, is refused; a serial the server already holds updates that
component. A server's own serial is a different thing and is not compared. Every problem
of the file is reported at once, with the servers' own, and then nothing is written. Each
component is audited as its own row (`component`, keyed by serial).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pelihara.core.errors import InputError, Problem
from pelihara.inventory.aliases import COMPONENT_STATUS_ALIASES, KIND_ALIASES, header_key
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.db import transaction
from pelihara.inventory.locking import lock_writes
from pelihara.inventory.models import Component, ComponentKind, ComponentStatus, Server
from pelihara.inventory.plan import chunks
from pelihara.inventory.records import Record, component_record
from pelihara.inventory.sources import Table, component_column, located, read_csv

COLUMNS = ("hostname", "kind", "model", "serial", "slot", "status")
REQUIRED = ("hostname", "kind", "serial")
_KNOWN = ", ".join(COLUMNS)
_WORDS = {"kind": KIND_ALIASES, "status": COMPONENT_STATUS_ALIASES}
_CHOICES = {"kind": {k.value for k in ComponentKind}, "status": {s.value for s in ComponentStatus}}


@dataclass(frozen=True)
class ComponentRow:
    """One component of the file: its line (or sheet row) and its values by column."""

    line: int
    values: dict[str, str | None]

    def get(self, name: str) -> str:
        return self.values.get(name) or ""


@dataclass(frozen=True)
class ComponentCounts:
    """What an import did to components (or, with dry_run, would do)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass(frozen=True)
class ComponentSummary:
    """What `import-components` did (or, with dry_run, would do) with its file."""

    file: str
    counts: ComponentCounts
    dry_run: bool


@dataclass
class ComponentPlan:
    """The components of a file checked against the database: what each serial is now."""

    rows: list[ComponentRow]
    held: dict[str, Component] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def parse_components(table: Table) -> tuple[list[ComponentRow], list[Problem]]:
    """TABLE's rows as components, and every problem of its header and cells."""
    problems = list(_header_problems(table))
    # a missing column is one problem on the header, not one on every row
    required = [n for n in REQUIRED if not table.header_line or n in table.columns]
    rows = []
    for raw in table.rows:
        values = {name: (cell or None) for name, cell in raw.cells.items() if name in COLUMNS}
        rows.append(ComponentRow(raw.line, values))
        cells = raw.cells if not table.header_line else _known(raw.cells)
        problems += _cell_problems(table.file, rows[-1], cells, required)
    return rows, [*table.problems, *(table.locate(p) for p in problems)]


def _known(cells: dict[str, str]) -> dict[str, str]:
    """A row's cells of known columns (an unknown column is one problem, on the header)."""
    return {name: cell for name, cell in cells.items() if name in COLUMNS or name == "\0extra"}


def _header_problems(table: Table) -> Iterator[Problem]:
    line = table.header_line
    if not line:  # YAML: each item's keys are checked with the item
        return
    for name in table.columns:
        if name not in COLUMNS:
            yield Problem(table.file, line, name, f"unknown column (known columns: {_KNOWN})")
    for name in REQUIRED:
        if name not in table.columns:
            yield Problem(table.file, line, name, "required column is missing")
    for name in sorted({n for n in table.columns if table.columns.count(n) > 1}):
        yield Problem(table.file, line, name, "column appears twice")


def _cell_problems(
    file: str, row: ComponentRow, cells: dict[str, str], required: list[str]
) -> Iterator[Problem]:
    if "\0extra" in cells:
        yield Problem(file, row.line, "", cells["\0extra"])
    for name in cells:
        if name not in COLUMNS and name != "\0extra":  # a YAML item's key (a header's: once)
            yield Problem(file, row.line, name, f"unknown column (known columns: {_KNOWN})")
    for name in required:
        if not row.values.get(name):
            yield Problem(file, row.line, name, "required value is missing")
    for name, choices in _CHOICES.items():
        value = row.values.get(name)
        if value is None:
            continue
        key = " ".join(header_key(value).split("_"))
        row.values[name] = value = _WORDS[name].get(key, key)
        if value not in choices:
            known = ", ".join(sorted(choices))
            message = f"unknown {name} {cells[name]!r}; use one of {known}"
            yield Problem(file, row.line, name, message)


def _held(session: Session, serials: Iterable[str]) -> dict[str, Component]:
    """The components of the database that hold those serials."""
    found: dict[str, Component] = {}
    for chunk in chunks(sorted(set(serials))):
        stmt = select(Component).where(Component.serial.in_(chunk))
        found.update({c.serial: c for c in session.scalars(stmt) if c.serial})
    return found


def _known_hostnames(session: Session, hostnames: set[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(sorted(hostnames)):
        found.update(session.scalars(select(Server.hostname).where(Server.hostname.in_(chunk))))
    return found


def plan_components(
    session: Session, file: str, rows: list[ComponentRow], new_hostnames: Iterable[str] = ()
) -> ComponentPlan:
    """Check ROWS against the database: unknown hostnames (NEW_HOSTNAMES are the servers
    the same file creates), serials twice in the file or held by another server."""
    plan = ComponentPlan(rows, _held(session, (r.get("serial") for r in rows if r.get("serial"))))
    wanted = {r.get("hostname") for r in rows if r.get("hostname")}
    known = _known_hostnames(session, wanted) | set(new_hostnames)
    first_line: dict[str, int] = {}
    for row in rows:
        plan.problems += _row_problems(file, row, known, plan.held, first_line)
    return plan


def _row_problems(
    file: str, row: ComponentRow, known: set[str], held: dict[str, Component],
    first_line: dict[str, int],
) -> Iterator[Problem]:  # fmt: skip
    hostname, serial = row.get("hostname"), row.get("serial")
    if hostname and hostname not in known:
        yield Problem(file, row.line, "hostname", f"no server {hostname} in the inventory")
    if not serial:
        return
    if serial in first_line:
        yield Problem(file, row.line, "serial",
                      f"serial {serial} is also on line {first_line[serial]}")  # fmt: skip
    first_line.setdefault(serial, row.line)
    other = held.get(serial)
    if other is not None and hostname and other.server.hostname != hostname:
        yield Problem(file, row.line, "serial",
                      f"serial {serial} is a component of {other.server.hostname}")  # fmt: skip


def _servers(session: Session, hostnames: set[str]) -> dict[str, Server]:
    found: dict[str, Server] = {}
    for chunk in chunks(sorted(hostnames)):
        stmt = select(Server).where(Server.hostname.in_(chunk))
        found.update({server.hostname: server for server in session.scalars(stmt)})
    return found


def apply_components(session: Session, plan: ComponentPlan, audit: AuditLog) -> ComponentCounts:
    """Create or update every planned component (their servers exist by now)."""
    servers = _servers(session, {row.get("hostname") for row in plan.rows})
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for row in plan.rows:
        counts[_write(session, row, servers[row.get("hostname")], plan.held, audit)] += 1
    session.flush()
    return ComponentCounts(**counts)


def _write(session: Session, row: ComponentRow, server: Server, held: dict[str, Component],
           audit: AuditLog) -> str:  # fmt: skip
    """Create or update one component; audited when anything changed. Returns the outcome."""
    serial = row.get("serial")
    component = held.get(serial)
    before = component_record(component, server.hostname) if component else None
    if component is None:
        component = Component(server=server, kind=row.get("kind"), serial=serial)
        component.status = ComponentStatus.INSTALLED.value
        session.add(component)
        held[serial] = component
    for name in ("kind", "model", "slot", "status"):
        if name in row.values and (name in ("model", "slot") or row.values[name]):
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
    if path.suffix.lower() != ".csv":
        message = "components come from a .csv file here; a workbook's `components` sheet "
        message += "and a YAML `components:` list are read by `inventory import`"
        raise InputError([Problem(str(path), 0, "", message)])
    if not path.is_file():
        raise InputError([Problem(str(path), 0, "", "no such file")])
    table = read_csv(path, column_of=component_column)
    rows, problems = parse_components(table)
    with located(table), transaction(factory, commit=not dry_run) as session:
        lock_writes(session)
        plan = plan_components(session, table.file, rows)
        if problems or plan.problems:
            raise InputError([*problems, *plan.problems], "nothing was imported")
        counts = apply_components(session, plan, AuditLog(session, actor))
    return ComponentSummary(table.file, counts, dry_run)


def component_records(session: Session, hostnames: set[str] | None = None) -> list[Record]:
    """Every component (of HOSTNAMES only, if given) by hostname, kind and serial."""
    stmt = select(Component, Server.hostname).join(Component.server)
    records = [
        component_record(component, hostname)
        for component, hostname in session.execute(stmt)
        if hostnames is None or hostname in hostnames
    ]
    return sorted(records, key=lambda r: (r["hostname"], r["kind"], r["serial"] or ""))


def components_by_host(session: Session, hostnames: set[str]) -> dict[str, list[Record]]:
    """The components of the servers named HOSTNAMES, by hostname (for an export)."""
    found: dict[str, list[Record]] = {}
    for record in component_records(session, hostnames):
        found.setdefault(str(record["hostname"]), []).append(record)
    return found
