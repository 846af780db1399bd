"""Reading inventory files (CSV, YAML, XLSX) into rows of text cells with their line numbers.

CSV is read the way Excel in an Indonesian locale writes it: `;` or `,` as delimiter
(whichever the header uses), UTF-8 with or without BOM, CRLF or LF line ends.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pelihara.core.errors import InputError, Problem
from pelihara.inventory.numbers import Exact

FORMULA_PREFIXES = ("=", "+", "-", "@")
REFUSED = "\0refused"  # a cell whose problem its reader told (the column is given, not valued)


@dataclass(frozen=True)
class RawRow:
    """One record of a file: its line (or sheet row) and its cells by column name."""

    line: int
    cells: dict[str, str]


@dataclass
class Table:
    """A file's header (normalised column names, with where each came from) and rows."""

    file: str
    columns: list[str]
    rows: list[RawRow] = field(default_factory=list)
    header_line: int = 1
    problems: list[Problem] = field(default_factory=list)  # of the file's structure


def normalise_column(name: str) -> str:
    """`Rack Unit` and ` rack-unit ` both name the column `rack_unit`."""
    return "_".join(name.strip().lower().replace("-", " ").split())


def unescape_formula(cell: str) -> str:
    """Undo the `'` that export puts before a cell starting with = + - @."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_PREFIXES:
        return cell[1:]
    return cell


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            [Problem(str(path), line, "", "not UTF-8 text: save the file as 'CSV UTF-8'")]
        ) from None


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (";", ",", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def read_csv(path: Path) -> Table:
    text = _decode(path)
    first = text.splitlines()[0] if text else ""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first))
    table = Table(str(path), [])
    line = 1
    for record in reader:
        if not table.columns:
            table.columns = [normalise_column(name) for name in record]
        elif any(cell.strip() for cell in record):
            table.rows.append(_csv_row(table, line, record))
        line = reader.line_num + 1
    return table


def _csv_row(table: Table, line: int, record: list[str]) -> RawRow:
    cells = {
        name: unescape_formula(cell.strip())
        for name, cell in zip(table.columns, record, strict=False)
    }
    width = len(table.columns)
    longer = len(record) > width and any(cell.strip() for cell in record[width:])
    if longer or len(record) < width:  # a missing cell would leave its field as it is
        cells["\0extra"] = f"{len(record)} cells but the header has {width}"
    return RawRow(line, cells)


def read_yaml(path: Path) -> Table:
    from pelihara.inventory.yaml_reader import read_yaml_text

    return read_yaml_text(str(path), _decode(path))


def _xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return Exact(value)  # a number, not text: `1.024` here is never ambiguous
    return str(value).strip()


def read_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise InputError(
            [Problem(str(path), 0, "", f"not a readable XLSX workbook: {exc}")]
        ) from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        table = Table(f"{path}", [normalise_column(_xlsx_cell(v)) for v in next(rows, ())])
        for number, values in enumerate(rows, start=2):
            cells = [_xlsx_cell(v) for v in values]
            if any(cells):
                table.rows.append(RawRow(number, dict(zip(table.columns, cells, strict=False))))
    finally:
        workbook.close()
    return table


READERS: dict[str, Callable[[Path], Table]] = {
    ".csv": read_csv,
    ".yaml": read_yaml,
    ".yml": read_yaml,
    ".xlsx": read_xlsx,
}


def read_table(path: Path) -> Table:
    """Read PATH by its extension; an unknown extension or unreadable file is an `InputError`."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        known = ", ".join(sorted(READERS))
        raise InputError([Problem(str(path), 0, "", f"unknown file type; use one of {known}")])
    if not path.is_file():
        raise InputError([Problem(str(path), 0, "", "no such file")])
    return reader(path)
