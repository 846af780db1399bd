"""Validation of an inventory file on its own: the header and every cell.

Every problem is collected (never just the first), each with its file, line and column.
What needs the database (new or existing server, addresses held by others, rack units,
the names of OPDs, sites and racks) is checked in `plan.py`, in the same run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pelihara.core.errors import Problem
from pelihara.inventory.fields import COLUMN_NAMES, FIELD_BY_NAME, NumberParser, Value
from pelihara.inventory.numbers import convention, settle
from pelihara.inventory.sources import REFUSED, RawRow, Table

EXTRA = "\0extra"  # a row's cell count differs from the header's (sources.py)


@dataclass
class ServerRow:
    """A parsed row: the values of the columns it gives (None: an empty cell, which clears
    the field), and the columns it gives at all (a cell that did not parse is given, not
    valued). A column the row does not give leaves the field as it is."""

    line: int
    values: dict[str, Value] = field(default_factory=dict)
    given: frozenset[str] = frozenset()

    @property
    def hostname(self) -> str:
        return str(self.values.get("hostname") or "")

    @property
    def addresses(self) -> list[str]:
        value = self.values.get("ip")
        return value if isinstance(value, list) else []


def check_header(table: Table) -> list[Problem]:
    """Unknown, doubled and missing key columns on the header line (CSV/XLSX). The other
    required columns are required for new servers only (`plan.py`)."""
    if not table.header_line:  # YAML: no header; each item's keys are checked with the item
        return []
    problems = [
        Problem(table.file, table.header_line, name or "(empty)", unknown_column(name))
        for name in table.columns
        if name not in FIELD_BY_NAME
    ]
    if "hostname" not in table.columns:
        problems.append(
            Problem(
                table.file,
                table.header_line,
                "hostname",
                "required column is missing: it names the server of each row",
            )
        )
    duplicated = {name for name in table.columns if table.columns.count(name) > 1}
    problems += [
        Problem(table.file, table.header_line, name, "column appears twice") for name in duplicated
    ]
    return problems


def unknown_column(name: str) -> str:
    return f"unknown column (known columns: {', '.join(COLUMN_NAMES)})"


def _number_columns() -> frozenset[str]:
    return frozenset(f.name for f in FIELD_BY_NAME.values() if isinstance(f.parse, NumberParser))


NUMBER_COLUMNS = _number_columns()


def decimal_sign(table: Table) -> str | None:
    """The decimal sign the file's number cells show (`numbers.convention`), or None."""
    return convention(
        cell for row in table.rows for name, cell in row.cells.items() if name in NUMBER_COLUMNS
    )


def parse_row(
    table: Table, raw: RawRow, decimal: str | None = None
) -> tuple[ServerRow, list[Problem]]:
    """Parse one row's cells; every bad value is a problem. DECIMAL: the file's decimal sign,
    which settles number cells like `1.920`."""
    cells = dict(raw.cells)
    if table.header_line:  # a header column the row lacks (a short XLSX row) is empty
        cells.update({name: "" for name in table.columns if name not in cells})
    row, problems = ServerRow(raw.line, given=frozenset(cells) - {EXTRA}), []
    for name, cell in cells.items():
        spec = FIELD_BY_NAME.get(name)
        if name == EXTRA:
            problems.append(Problem(table.file, raw.line, "", cell))
        elif cell == REFUSED:
            continue  # its reader told what is wrong with it
        elif spec is None:
            if not table.header_line:  # YAML: unknown keys are per item
                problems.append(Problem(table.file, raw.line, name, unknown_column(name)))
        elif cell:
            text = settle(cell, decimal) if name in NUMBER_COLUMNS else str(cell)
            try:
                row.values[name] = spec.parse(text)
            except ValueError as exc:
                problems.append(Problem(table.file, raw.line, name, str(exc)))
        else:
            row.values[name] = None
    return row, problems


def parse_table(table: Table) -> tuple[list[ServerRow], list[Problem]]:
    """Every row of TABLE parsed, and every problem of the file on its own."""
    problems = [*table.problems, *check_header(table)]
    decimal = decimal_sign(table)
    rows = []
    for raw in table.rows:
        row, row_problems = parse_row(table, raw, decimal)
        problems += row_problems
        if row.hostname:
            rows.append(row)
        elif "hostname" in row.given and "hostname" not in row.values:
            pass  # a bad hostname: its problem is told
        elif table.header_line == 0 or "hostname" in table.columns:
            problems.append(Problem(table.file, raw.line, "hostname", "required value is missing"))
    if not rows and not problems:
        problems.append(Problem(table.file, 0, "", "the file holds no servers"))
    return rows, problems
