"""Validation of an inventory file: every cell, every row, duplicates in the file and the database.

Every problem is collected (never just the first), each with its file, line and column.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from pelihara.core.errors import Problem
from pelihara.inventory.fields import COLUMN_NAMES, FIELD_BY_NAME, REQUIRED, Value
from pelihara.inventory.models import IpAddress, Server
from pelihara.inventory.sources import RawRow, Table

CHUNK = 900  # keeps IN (...) lists under every database's parameter limit


@dataclass
class ServerRow:
    """A validated row: its parsed values, and which columns the file gave at all."""

    line: int
    values: dict[str, Value] = field(default_factory=dict)

    @property
    def hostname(self) -> str:
        return str(self.values["hostname"])

    @property
    def addresses(self) -> list[str]:
        value = self.values.get("ip")
        return value if isinstance(value, list) else []


def check_header(table: Table) -> list[Problem]:
    """Unknown columns and missing required columns (CSV/XLSX: on the header line)."""
    if not table.header_line:  # YAML: no header; each item's keys are checked with the item
        return []
    problems = [
        Problem(table.file, table.header_line, name or "(empty)", _unknown(name))
        for name in table.columns
        if name not in FIELD_BY_NAME
    ]
    problems += [
        Problem(table.file, table.header_line, name, "required column is missing")
        for name in REQUIRED
        if name not in table.columns
    ]
    duplicated = {name for name in table.columns if table.columns.count(name) > 1}
    problems += [
        Problem(table.file, table.header_line, name, "column appears twice") for name in duplicated
    ]
    return problems


def _unknown(name: str) -> str:
    return f"unknown column (known columns: {', '.join(COLUMN_NAMES)})"


def parse_row(table: Table, raw: RawRow) -> tuple[ServerRow, list[Problem]]:
    """Parse one row's cells; every bad or missing value is a problem."""
    row, problems = ServerRow(raw.line), []
    for name, cell in raw.cells.items():
        spec = FIELD_BY_NAME.get(name)
        if name == "\0extra":
            problems.append(Problem(table.file, raw.line, "", cell))
        elif spec is None:
            if not table.header_line:  # YAML: unknown keys are per item
                problems.append(Problem(table.file, raw.line, name, _unknown(name)))
        elif cell:
            try:
                row.values[name] = spec.parse(cell)
            except ValueError as exc:
                problems.append(Problem(table.file, raw.line, name, str(exc)))
        else:
            row.values[name] = None
    problems += _row_rules(table.file, raw, row)
    return row, problems


def _row_rules(file: str, raw: RawRow, row: ServerRow) -> list[Problem]:
    problems = [
        Problem(file, raw.line, name, "required value is missing")
        for name in REQUIRED
        if not raw.cells.get(name)
    ]
    if row.values.get("rack") and not row.values.get("site"):
        problems.append(Problem(file, raw.line, "site", "a rack needs its site"))
    if row.values.get("rack_unit") and not row.values.get("rack"):
        problems.append(Problem(file, raw.line, "rack", "a rack unit needs its rack"))
    return problems


def _claims(row: ServerRow) -> Iterator[tuple[str, str]]:
    """The unique things a row claims, as (column, key)."""
    yield "hostname", row.hostname
    for address in row.addresses:
        yield "ip", address
    for name in ("serial", "asset_tag"):
        if row.values.get(name):
            yield name, str(row.values[name])
    if row.values.get("rack_unit"):
        place = (row.values.get("site"), row.values.get("rack"), row.values.get("rack_unit"))
        yield "rack_unit", "/".join(str(part) for part in place)


def check_duplicates(file: str, rows: Iterable[ServerRow]) -> list[Problem]:
    """Hostnames, addresses, serials, asset tags and rack units claimed twice in the file."""
    first: dict[tuple[str, str], int] = {}
    problems = []
    for row in rows:
        if "hostname" not in row.values or row.values["hostname"] is None:
            continue
        for claim in _claims(row):
            if claim in first:
                message = f"{claim[1]} is already used on line {first[claim]}"
                problems.append(Problem(file, row.line, claim[0], message))
            else:
                first[claim] = row.line
    return problems


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _owners(session: Session, column_name: str, keys: list[str]) -> dict[str, str]:
    """Which server (hostname) in the database holds each key of a unique column."""
    owners: dict[str, str] = {}
    for chunk in _chunks(keys):
        if column_name == "ip":
            stmt = select(IpAddress.address, Server.hostname).join(Server)
            stmt = stmt.where(IpAddress.address.in_(chunk))
        else:
            column = getattr(Server, column_name)
            stmt = select(column, Server.hostname).where(column.in_(chunk))
        owners.update({str(key): host for key, host in session.execute(stmt)})
    return owners


def check_database(session: Session, file: str, rows: list[ServerRow]) -> list[Problem]:
    """Addresses, serials and asset tags held by a server of the database not in this file."""
    in_file = {row.hostname for row in rows if row.values.get("hostname")}
    wanted: dict[str, dict[str, ServerRow]] = {"ip": {}, "serial": {}, "asset_tag": {}}
    for row in rows:
        for column, key in _claims(row):
            if column in wanted:
                wanted[column][key] = row
    problems = []
    for column_name, keys in wanted.items():
        for key, owner in _owners(session, column_name, list(keys)).items():
            row = keys[key]
            if owner != row.hostname and owner not in in_file:
                message = f"{key} already belongs to server {owner} in the database"
                problems.append(Problem(file, row.line, column_name, message))
    return problems
