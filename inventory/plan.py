"""What an import (or an edit) will do, checked against the file and the database at once.

Each row is merged with its server's record: a column the row gives replaces that field, the
others stay as they are (a new server starts empty, status active). The merged records are
then checked together, so one run names every problem: required values of new servers, a
rack's site and a unit's rack, addresses, serials, asset tags and rack units used twice in
the file or held by a server of the database that the file does not change, and the names
of new OPDs, sites and racks close to others (`names.py`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pelihara.core.errors import Problem
from pelihara.inventory.fields import COLUMN_NAMES, REQUIRED
from pelihara.inventory.models import IpAddress, Server, ServerStatus
from pelihara.inventory.names import Names, name_key, problems_or_warnings
from pelihara.inventory.records import Record, server_record
from pelihara.inventory.validate import ServerRow

CHUNK = 900  # keeps IN (...) lists under every database's parameter limit
PLACE = frozenset({"site", "rack", "rack_unit"})


@dataclass
class Planned:
    """A row, its server's record after the change, the server (None: a new one) and its
    record before."""

    row: ServerRow
    record: Record
    server: Server | None
    before: Record | None = None


@dataclass
class Plan:
    """Every row planned; the problems (any: nothing is written) and the warnings."""

    file: str
    planned: list[Planned]
    names: Names
    problems: list[Problem]
    warnings: list[Problem]


def chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def existing_servers(session: Session, hostnames: list[str]) -> dict[str, Server]:
    """The servers of those hostnames in the database, with what their record needs."""
    found: dict[str, Server] = {}
    options = (
        selectinload(Server.addresses),
        selectinload(Server.opd),
        selectinload(Server.site),
        selectinload(Server.rack),
    )
    for chunk in chunks(sorted(set(hostnames))):
        stmt = select(Server).where(Server.hostname.in_(chunk)).options(*options)
        found.update({server.hostname: server for server in session.scalars(stmt)})
    return found


# --- each row merged with its server ---------------------------------------------------


def _blank() -> Record:
    record: Record = dict.fromkeys(COLUMN_NAMES)
    record.update(ip=[], status=ServerStatus.ACTIVE.value)
    return record


def _merge(file: str, row: ServerRow, server: Server | None, names: Names) -> Planned:
    before = server_record(server) if server is not None else None
    record = dict(before) if before is not None else _blank()
    record.update(row.values)
    if record["status"] is None:
        record["status"] = ServerStatus.ACTIVE.value
    record["ip"] = record["ip"] or []
    where = (file, row.line)
    if record["opd"] and "opd" in row.given:
        record["opd"] = names.opd_name(str(record["opd"]), (*where, "opd"))
    if record["site"] and "site" in row.given:
        record["site"] = names.site_name(str(record["site"]), (*where, "site"))
    if record["site"] and record["rack"] and row.given & {"site", "rack"}:
        record["rack"] = names.rack_name(str(record["site"]), str(record["rack"]), (*where, "rack"))
    return Planned(row, record, server, before)


def _required(file: str, planned: Planned, header: list[str] | None) -> Iterator[Problem]:
    row, new = planned.row, planned.server is None
    for name in REQUIRED:
        if name in row.values and row.values[name] is None:
            yield Problem(file, row.line, name, "required value is missing")
        elif new and name not in row.given and (header is None or name in header):
            yield Problem(file, row.line, name, "required value is missing (a new server)")


def _place(file: str, planned: Planned) -> Iterator[Problem]:
    """A rack needs its site, a unit its rack; a server moved to another site takes no rack
    of the old one along."""
    row, record, server = planned.row, planned.record, planned.server
    given = row.given
    if record["rack"] and not record["site"]:
        why = "" if "rack" in given else f": its rack {record['rack']} too (an empty rack cell)"
        yield Problem(file, row.line, "site", f"a rack needs its site{why}")
    if record["rack_unit"] and not record["rack"]:
        why = "" if "rack_unit" in given else f": clear its unit {record['rack_unit']} too"
        yield Problem(file, row.line, "rack", f"a rack unit needs its rack{why}")
    if (
        server is not None
        and server.rack is not None
        and "site" in given
        and "rack" not in given
        and record["site"]
        and name_key(str(record["site"])) != name_key(server.rack.site.name)
    ):
        yield Problem(
            file,
            row.line,
            "rack",
            f"the server moves to site {record['site']} but its rack {server.rack.name} is in "
            f"{server.rack.site.name}: give the rack column too (an empty cell for none)",
        )


# --- what must be unique ---------------------------------------------------------------

Key = tuple[str, object]  # (column, what is claimed)


@dataclass(frozen=True)
class _Claim:
    """A unique thing a record holds: a hostname, an address, a serial, a rack unit."""

    column: str
    key: object
    text: str
    given: bool  # the row writes it (else the server keeps what it has)
    planned: Planned


def _claims(planned: Planned) -> Iterator[_Claim]:
    record, given = planned.record, planned.row.given
    yield _Claim("hostname", record["hostname"], record["hostname"], True, planned)
    for address in record["ip"]:
        yield _Claim("ip", address, address, "ip" in given, planned)
    for name in ("serial", "asset_tag"):
        if record[name]:
            yield _Claim(name, record[name], str(record[name]), name in given, planned)
    site, rack, unit = record["site"], record["rack"], record["rack_unit"]
    if site and rack and unit:
        key = (name_key(str(site)), name_key(str(rack)), unit)
        text = f"unit {unit} of rack {site}/{rack}"
        yield _Claim("rack_unit", key, text, bool(PLACE & given), planned)


def _in_file(file: str, claims: dict[Key, list[_Claim]]) -> Iterator[Problem]:
    """A claim written by a row that another row writes or keeps."""
    for claimants in claims.values():
        if len(claimants) < 2 or not any(c.given for c in claimants):
            continue
        holder = next((c for c in claimants if not c.given), claimants[0])
        for claim in claimants:
            if claim is holder or not claim.given:
                continue
            line = holder.planned.row.line
            if holder.given:
                message = f"{claim.text} is already used on line {line}"
            else:
                message = (
                    f"{claim.text} already belongs to server {holder.planned.record['hostname']} "
                    f"(line {line} leaves its {claim.column} as it is)"
                )
            yield Problem(file, claim.planned.row.line, claim.column, message)


def _owners(session: Session, column_name: str, keys: list[str]) -> dict[str, str]:
    """Which server (hostname) in the database holds each key of a unique column."""
    owners: dict[str, str] = {}
    for chunk in chunks(keys):
        if column_name == "ip":
            stmt = select(IpAddress.address, Server.hostname).join(Server)
            stmt = stmt.where(IpAddress.address.in_(chunk))
        else:
            column = getattr(Server, column_name)
            stmt = select(column, Server.hostname).where(column.in_(chunk))
        owners.update({str(key): host for key, host in session.execute(stmt)})
    return owners


Unit = tuple[str, str, int]  # (site key, rack key, unit)


def _unit_owners(session: Session, names: Names, keys: list[object]) -> dict[object, str]:
    """Which server holds each rack unit (site key, rack key, unit) in the database."""
    units = [cast(Unit, key) for key in keys]
    racks = {unit: names.racks.get(unit[:2]) for unit in units}
    ids = sorted({rack.id for rack in racks.values() if rack is not None})
    held: dict[tuple[int | None, int | None], str] = {}
    for start in range(0, len(ids), CHUNK):
        stmt = select(Server.rack_id, Server.rack_unit, Server.hostname).where(
            Server.rack_id.in_(ids[start : start + CHUNK]), Server.rack_unit.is_not(None)
        )
        held.update({(rack_id, unit): host for rack_id, unit, host in session.execute(stmt)})
    owners: dict[object, str] = {}
    for unit, rack in racks.items():
        if rack is not None and (rack.id, unit[2]) in held:
            owners[unit] = held[(rack.id, unit[2])]
    return owners


def _in_database(
    session: Session, plan_file: str, claims: dict[Key, list[_Claim]], names: Names
) -> Iterator[Problem]:
    """A claim written by a row that a server of the database not in the file holds."""
    in_file = {c[0].planned.record["hostname"] for k, c in claims.items() if k[0] == "hostname"}
    wanted: dict[str, list[object]] = defaultdict(list)
    for column, key in claims:
        if column != "hostname":
            wanted[column].append(key)
    for column, keys in wanted.items():
        if column == "rack_unit":
            owners = _unit_owners(session, names, keys)
        else:
            owners = dict(_owners(session, column, [str(key) for key in keys]).items())
        for key, owner in owners.items():
            for claim in claims[(column, key)]:
                if claim.given and owner not in in_file:
                    held = "is already taken by" if column == "rack_unit" else "already belongs to"
                    yield Problem(
                        plan_file,
                        claim.planned.row.line,
                        column,
                        f"{claim.text} {held} server {owner} in the database",
                    )


def _header_problems(
    file: str, header: tuple[int, list[str]] | None, planned: list[Planned]
) -> Iterator[Problem]:
    """A required column the header lacks, named once on the header line if new servers
    need it."""
    new = [p for p in planned if p.server is None]
    if header is None or not new:
        return
    line, columns = header
    first = new[0]
    more = f", and {len(new) - 1} more" if len(new) > 1 else ""
    for name in REQUIRED:
        if name not in columns:
            yield Problem(
                file,
                line,
                name,
                f"required column is missing: new servers need it "
                f"({first.record['hostname']} on line {first.row.line}{more})",
            )


def plan_rows(
    session: Session,
    file: str,
    rows: list[ServerRow],
    header: tuple[int, list[str]] | None = None,
    strict: bool = False,
) -> Plan:
    """Merge every row with its server and check them all; HEADER (line, columns) when the
    file has one. STRICT: a new name close to another is a problem, not a warning."""
    servers = existing_servers(session, [row.hostname for row in rows])
    names = Names.load(session)
    planned = [_merge(file, row, servers.get(row.hostname), names) for row in rows]
    problems = list(_header_problems(file, header, planned))
    columns = header[1] if header else None
    for item in planned:
        problems += [*_required(file, item, columns), *_place(file, item)]
    claims: dict[Key, list[_Claim]] = defaultdict(list)
    for item in planned:
        for claim in _claims(item):
            claims[(claim.column, claim.key)].append(claim)
    problems += [*_in_file(file, claims), *_in_database(session, file, claims, names)]
    strict_problems, warnings = problems_or_warnings(names.warnings(), strict)
    return Plan(file, planned, names, problems + strict_problems, warnings)
