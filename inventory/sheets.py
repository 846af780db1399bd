"""Reading an XLSX workbook as a government office makes it, into a `Table`.

- The sheet: `--sheet NAME`, else the first sheet whose header is found, other than the
  components sheet: a sheet titled `components` or `komponen` holds the servers' parts
  (`components.py`), read from its own header with the same rules.
- The header: the first of the top rows that names the hostname column (`hostname`,
  `Nama Host`), below any title rows ("DAFTAR SERVER DINAS KOMINFO 2026" and a blank row);
  or `--header-row N`.
- Each cell as Excel shows it: a formula by the result Excel saved with it; a date as its
  number format shows it (`12/03/2021`), in a text column too.
- Refused, each at its cell (`'Daftar Server'!D6`): cells merged in the table, a formula
  without a saved result (written by a program, never opened in Excel), an error value
  (`#N/A`), a value in a column without a header.
"""

from __future__ import annotations

import re
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pelihara.core.errors import InputError, Problem
from pelihara.inventory.aliases import COMPONENT_SHEETS, header_key
from pelihara.inventory.excel_dates import shown_date
from pelihara.inventory.numbers import Exact
from pelihara.inventory.sources import (
    ColumnOf,
    RawRow,
    SheetOptions,
    Table,
    cell_reference,
    component_column,
    header_column,
)

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.workbook.workbook import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

HEADER_SEARCH_ROWS = 30  # title rows a header may sit below, unless --header-row says
NUMBERING = None  # a header cell naming a numbering column (`No`): the column is ignored
UNNAMED = ""  # an empty header cell: a value below it is a problem


def read_sheet(path: Path, options: SheetOptions) -> Table:
    """Read the sheet OPTIONS choose; every problem of its cells lands in `Table.problems`."""
    workbook = _open(path, data_only=True)
    sheet, header_row = _choose(path, workbook, options)
    table = _read(_SheetReader(path, sheet, header_row))
    parts = [s for s in workbook.worksheets if is_components_sheet(s.title) and s is not sheet]
    if parts:
        table.components = _read_components(path, parts[0])
    return table


def is_components_sheet(title: str) -> bool:
    """Whether a sheet titled TITLE holds components (`Components`, `KOMPONEN`)."""
    return header_key(title) in {header_key(name) for name in COMPONENT_SHEETS}


def _read(reader: _SheetReader) -> Table:
    reader.read_rows()
    reader.check_merged()
    reader.check_formulas()
    return reader.table


def _read_components(path: Path, sheet: Worksheet) -> Table:
    """The components sheet; a sheet without a header row is one problem, at the sheet."""
    row = _header_row(sheet, None)
    if row is None:
        message = (
            f"the components sheet {sheet.title!r} has no header row: no row among the first "
            f"{HEADER_SEARCH_ROWS} names the hostname column ('hostname' or 'Nama Host')"
        )
        return Table(str(path), [], header_line=0, problems=[Problem(str(path), 0, "", message)])
    return _read(_SheetReader(path, sheet, row, component_column))


def _open(path: Path, data_only: bool, read_only: bool = False) -> Workbook:
    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=read_only, data_only=data_only)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, SyntaxError) as exc:
        # SyntaxError: the XML parser's ParseError, for a zip whose parts are not XML
        message = f"not a readable XLSX workbook: {exc}"
        raise InputError([Problem(str(path), 0, "", message)]) from None


_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")  # <f>, <f t="shared" .../>, <x:f>


def _has_formulas(path: Path) -> bool:
    """Whether any sheet of the workbook at PATH holds a formula (an `f` element)."""
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        return any(_FORMULA.search(archive.read(name)) for name in names)


def _is_header(values: tuple[Any, ...]) -> bool:
    return any(isinstance(v, str) and header_column(v) == "hostname" for v in values)


def _header_row(sheet: Worksheet, only: int | None) -> int | None:
    """The row of SHEET's header: ONLY if it is one, else the first one of the top rows."""
    first, last = (only, only) if only else (1, HEADER_SEARCH_ROWS)
    rows = sheet.iter_rows(min_row=first, max_row=last, values_only=True)
    return next((first + i for i, values in enumerate(rows) if _is_header(values)), None)


def _choose(path: Path, workbook: Workbook, options: SheetOptions) -> tuple[Worksheet, int]:
    """The sheet and its header row: as OPTIONS say, else the first sheet with a header."""
    sheets = [s for s in workbook.worksheets if not is_components_sheet(s.title)]  # no charts
    if options.name is not None:
        sheets = [sheet for sheet in sheets if sheet.title == options.name]
        if not sheets:
            raise InputError([Problem(str(path), 0, "", _no_sheet(workbook, options.name))])
    for sheet in sheets:
        row = _header_row(sheet, options.header_row)
        if row is not None:
            return sheet, row
    if options.header_row and sheets:  # no hostname there: its names are reported as they are
        return sheets[0], options.header_row
    raise InputError([Problem(str(path), 0, "", _no_header(sheets))])


def _no_sheet(workbook: Workbook, name: str) -> str:
    if is_components_sheet(name) and name in workbook.sheetnames:
        return f"sheet {name!r} holds the components: --sheet names the servers' sheet"
    names = ", ".join(repr(sheet.title) for sheet in workbook.worksheets)
    return f"no sheet named {name!r} (the sheets: {names})"


def _no_header(sheets: list[Worksheet]) -> str:
    names = ", ".join(repr(sheet.title) for sheet in sheets)
    return (
        f"no header row found: no row among the first {HEADER_SEARCH_ROWS} of sheet(s) {names} "
        "names the hostname column ('hostname' or 'Nama Host'); give its row with --header-row N"
    )


def shown(cell: Cell) -> str:
    """A cell's value as Excel shows it: dates by their number format, 16.0 as 16."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, datetime | date | time | timedelta):
        return shown_date(value, cell.number_format)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return Exact(value)  # a number, not text: `1.024` here is never ambiguous
    return str(value).strip()


class _SheetReader:
    """One sheet, from its header row down: the table's rows and the problems of its cells."""

    def __init__(
        self, path: Path, sheet: Worksheet, header_row: int, column_of: ColumnOf = header_column
    ) -> None:
        self.path, self.sheet, self.column_of = path, sheet, column_of
        header = next(sheet.iter_rows(min_row=header_row, max_row=header_row))
        self.names = [self._name(cell) for cell in header]
        self.table = Table(
            str(path), [n for n in self.names if n], header_line=header_row, sheet=sheet.title
        )
        for cell, name in zip(header, self.names, strict=True):
            if name:
                self.table.letters.setdefault(name, cell.column_letter)

    def _name(self, cell: Cell) -> str | None:
        text = shown(cell)
        return self.column_of(text) if text else UNNAMED

    def name(self, column: int) -> str | None:
        """The name of the column at COLUMN (1 is A)."""
        return self.names[column - 1] if column <= len(self.names) else UNNAMED

    def problem(self, cell: Cell, message: str) -> None:
        where = cell_reference(self.sheet.title, cell.coordinate)
        name = self.name(cell.column) or ""
        self.table.problems.append(Problem(str(self.path), cell.row, name, message, where))

    def read_rows(self) -> None:
        rows = self.sheet.iter_rows(min_row=self.table.header_line + 1)
        for cells in rows:
            values = dict.fromkeys(self.table.columns, "")
            for cell, name in zip(cells, self.names, strict=False):
                if name is not NUMBERING and cell.value is not None:
                    self._read_cell(cell, name, values)
            if any(values.values()):  # a row with only its number is an empty row
                self.table.rows.append(RawRow(cells[0].row, values))

    def _read_cell(self, cell: Cell, name: str, values: dict[str, str]) -> None:
        if cell.data_type == "e":
            self.problem(cell, f"the cell shows the error {cell.value}: correct it in Excel")
        elif name == UNNAMED:
            self.problem(cell, "a value in a column without a header: name the column")
        else:
            values[name] = shown(cell)

    def check_merged(self) -> None:
        """Merged cells show their value in every cell but hold it in the first one only.

        A title merged across the top (above the header) is left alone, and so are merged
        cells with nothing in them: they read as they look."""
        for merged in self.sheet.merged_cells.ranges:
            first = self.sheet.cell(merged.min_row, merged.min_col)
            columns = range(merged.min_col, merged.max_col + 1)
            numbering = all(self.name(column) is NUMBERING for column in columns)
            if merged.max_row < self.table.header_line or first.value is None or numbering:
                continue
            message = (
                f"cells {merged.coord} are merged: Excel shows {shown(first)!r} in each, but "
                f"only {first.coordinate} holds it; unmerge them and fill in every cell"
            )
            self.problem(first, message)

    def check_formulas(self) -> None:
        """A formula is read by the result saved with it; without one, its value is unknown.

        openpyxl reads both a missing result and an empty text result as None: the cell's
        type tells them apart (an empty text result is of type `str`)."""
        if not _has_formulas(self.path):
            return  # most files: spared reading the sheet a second time (as long again)
        workbook = _open(self.path, data_only=False, read_only=True)
        try:
            rows = workbook[self.sheet.title].iter_rows(min_row=self.table.header_line)
            for cells in rows:
                for formula in cells:
                    if formula.data_type == "f" and self.name(formula.column):
                        self._check_saved(formula.row, formula.column, str(formula.value))
        finally:
            workbook.close()

    def _check_saved(self, row: int, column: int, formula: str) -> None:
        cell = self.sheet.cell(row, column)
        if cell.value is None and cell.data_type != "str":
            message = (
                f"the formula {formula} has no saved result (the file was written by a "
                "program): open and save the file in Excel, then import it again"
            )
            self.problem(cell, message)
