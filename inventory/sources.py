"""Reading inventory files (CSV, YAML, XLSX) into rows of text cells with their line numbers.

CSV is read the way Excel in an Indonesian locale writes it: `;` or `,` as delimiter
(whichever the header uses), UTF-8 with or without BOM, CRLF or LF line ends. CSV and XLSX
headers may use the Indonesian names of `aliases.py`; a numbering column (`No`) is ignored.
XLSX workbooks are read by `sheets.py`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pelihara.core.errors import ConfigurationError, InputError, Problem
from pelihara.inventory.aliases import (
    COLUMN_BY_ALIAS,
    COMPONENT_COLUMN_BY_ALIAS,
    NUMBERING_KEYS,
    header_key,
)
from pelihara.inventory.fields import COLUMN_NAMES

FORMULA_PREFIXES = ("=", "+", "-", "@")
REFUSED = "\0refused"  # a cell whose problem its reader told (the column is given, not valued)


@dataclass(frozen=True)
class RawRow:
    """One record of a file: its line (or sheet row) and its cells by column name."""

    line: int
    cells: dict[str, str]


@dataclass
class Table:
    """A file's header (normalised column names, with where each came from) and rows.

    A spreadsheet also keeps its sheet, each column's letter, and the problems found while
    reading it (merged cells, formulas without a result), reported with the rows' own."""

    file: str
    columns: list[str]
    rows: list[RawRow] = field(default_factory=list)
    header_line: int = 1
    problems: list[Problem] = field(default_factory=list)
    sheet: str = ""
    letters: dict[str, str] = field(default_factory=dict)
    components: Table | None = None  # the components the same file holds (sheet, YAML lists)

    def locate(self, problem: Problem) -> Problem:
        """PROBLEM with its spreadsheet cell (`'Daftar Server'!D6`); as it is for CSV and YAML."""
        if not self.sheet or problem.cell or problem.file != self.file or problem.line <= 0:
            return problem
        letter = self.letters.get(problem.column)
        where = f"{letter}{problem.line}" if letter else f"{problem.line}:{problem.line}"
        return dataclasses.replace(problem, cell=cell_reference(self.sheet, where))


def cell_reference(sheet: str, where: str) -> str:
    """`Server!D6`, `'Daftar Server'!D6`: a reference as Excel writes it and Go To takes it.

    >>> cell_reference("Server", "D6"), cell_reference("Daftar Server", "4:4")
    ('Server!D6', "'Daftar Server'!4:4")
    """
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", sheet) and not re.fullmatch(
        r"[A-Za-z]+\d+", sheet
    )
    name = sheet if plain else "'" + sheet.replace("'", "''") + "'"
    return f"{name}!{where}"


@contextmanager
def located(table: Table) -> Iterator[None]:
    """Problems raised inside name TABLE's cells (a spreadsheet's), not only its rows."""
    try:
        yield
    except InputError as exc:
        raise InputError([table.locate(problem) for problem in exc.problems]) from None


@dataclass(frozen=True)
class SheetOptions:
    """Which sheet of a workbook, and which row its header is on (default: found)."""

    name: str | None = None
    header_row: int | None = None


def normalise_column(name: str) -> str:
    """`Rack Unit` and ` rack-unit ` both name the column `rack_unit`."""
    return "_".join(name.strip().lower().replace("-", " ").split())


def header_column(name: str) -> str | None:
    """The column a CSV or XLSX header cell names (`Nama Host` is `hostname`); None: numbering.

    >>> [header_column(n) for n in ("Nama Host", "Memory (GB)", "No.", "Colour")]
    ['hostname', 'memory_gb', None, 'colour']
    """
    key = header_key(name)
    if key in NUMBERING_KEYS:
        return None
    if key in COLUMN_BY_ALIAS:
        return COLUMN_BY_ALIAS[key]
    return key if key in COLUMN_NAMES else normalise_column(name)


def component_column(name: str) -> str | None:
    """The column a components header cell names (`Jenis` is `kind`); None: numbering.

    >>> [component_column(n) for n in ("Nama Host", "Jenis", "No", "Posisi", "Colour")]
    ['hostname', 'kind', None, 'slot', 'colour']
    """
    key = header_key(name)
    if key in NUMBERING_KEYS:
        return None
    return COMPONENT_COLUMN_BY_ALIAS.get(key, key)


ColumnOf = Callable[[str], str | None]


def unescape_formula(cell: str) -> str:
    """Undo the `'` that export puts before a cell starting with = + - @."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_PREFIXES:
        return cell[1:]
    return cell


def decode_text(path: Path) -> str:
    """The text of the file at PATH: UTF-8, with or without BOM; anything else is refused."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            [Problem(str(path), line, "", "not UTF-8 text: save the file as 'CSV UTF-8'")]
        ) from None


def delimiter_of(header: str) -> str:
    """The delimiter a CSV header line uses: `;` (Excel in an Indonesian locale), `,` or tab."""
    counts = {d: header.count(d) for d in (";", ",", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def read_csv(path: Path, column_of: ColumnOf = header_column) -> Table:
    """The CSV at PATH as a table; COLUMN_OF names each header cell's column."""
    text = decode_text(path)
    first = text.splitlines()[0] if text else ""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(first))
    table = Table(str(path), [])
    header: list[str | None] = []  # by position; None: a numbering column, ignored
    line = 1
    for record in reader:
        if not header:
            header = [column_of(name) for name in record]
            table.columns = [name for name in header if name is not None]
        else:
            row = _csv_row(header, line, record)
            if any(row.cells.values()):  # a row with only its number (`No`) is empty
                table.rows.append(row)
        line = reader.line_num + 1
    return table


def _csv_row(header: list[str | None], line: int, record: list[str]) -> RawRow:
    cells = {
        name: unescape_formula(cell.strip())
        for name, cell in zip(header, record, strict=False)
        if name is not None
    }
    width = len(header)
    longer = len(record) > width and any(cell.strip() for cell in record[width:])
    if longer or len(record) < width:  # a missing cell would leave its field as it is
        cells["\0extra"] = f"{len(record)} cells but the header has {width}"
    return RawRow(line, cells)


def read_yaml(path: Path) -> Table:
    from pelihara.inventory.yaml_reader import read_yaml_text

    return read_yaml_text(str(path), decode_text(path))


def read_xlsx(path: Path, sheet: SheetOptions) -> Table:
    from pelihara.inventory.sheets import read_sheet

    return read_sheet(path, sheet)


def _no_sheet(read: Callable[[Path], Table]) -> Callable[[Path, SheetOptions], Table]:
    """A reader of a file without sheets, which refuses --sheet and --header-row."""

    def reader(path: Path, sheet: SheetOptions) -> Table:
        if sheet != SheetOptions():
            raise ConfigurationError(f"{path}: --sheet and --header-row are for .xlsx files")
        return read(path)

    return reader


READERS: dict[str, Callable[[Path, SheetOptions], Table]] = {
    ".csv": _no_sheet(read_csv),
    ".yaml": _no_sheet(read_yaml),
    ".yml": _no_sheet(read_yaml),
    ".xlsx": read_xlsx,
}


def read_table(path: Path, sheet: SheetOptions | None = None) -> Table:
    """Read PATH by its extension; an unknown extension or unreadable file is an `InputError`."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        known = ", ".join(sorted(READERS))
        raise InputError([Problem(str(path), 0, "", f"unknown file type; use one of {known}")])
    if not path.is_file():
        raise InputError([Problem(str(path), 0, "", "no such file")])
    return reader(path, sheet or SheetOptions())
