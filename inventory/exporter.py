"""`pelihara inventory export FILE`: every server as CSV, YAML or XLSX, chosen by extension.

CSV cells that a spreadsheet would run as a formula (starting with = + - @) get a leading
`'`, which import removes again; XLSX cells are written as text, never as formulas.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

import yaml

from pelihara.core.cells import cell_text
from pelihara.core.errors import ConfigurationError
from pelihara.inventory.fields import COLUMN_NAMES
from pelihara.inventory.records import Record
from pelihara.inventory.sources import FORMULA_PREFIXES


def escape_formula(cell: str) -> str:
    """`=1+1` becomes `'=1+1`, so a spreadsheet shows it as text instead of running it."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def write_csv(records: Iterable[Record], stream: IO[str]) -> int:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(COLUMN_NAMES)
    count = 0
    for record in records:
        writer.writerow([escape_formula(cell_text(record[name])) for name in COLUMN_NAMES])
        count += 1
    return count


def write_yaml(records: Iterable[Record], stream: IO[str]) -> int:
    items = [{k: v for k, v in record.items() if v is not None} for record in records]
    yaml.safe_dump({"servers": items}, stream, allow_unicode=True, sort_keys=False, width=100)
    return len(items)


def _write_xlsx(records: Iterable[Record], path: Path) -> int:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("inventory")
    sheet.append(list(COLUMN_NAMES))
    count = 0
    for record in records:
        sheet.append([_xlsx_cell(sheet, record[name]) for name in COLUMN_NAMES])
        count += 1
    workbook.save(path)
    return count


def _xlsx_cell(sheet: object, value: object) -> object:
    """The value for a cell; text starting with `=` explicitly typed as text, not a formula."""
    if isinstance(value, list):
        return cell_text(value)
    if isinstance(value, str) and value.startswith("="):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def _text_writer(write: Callable[[Iterable[Record], IO[str]], int]) -> Callable[..., int]:
    def to_path(records: Iterable[Record], path: Path) -> int:
        with path.open("w", encoding="utf-8", newline="") as stream:
            return write(records, stream)

    return to_path


WRITERS: dict[str, Callable[[Iterable[Record], Path], int]] = {
    ".csv": _text_writer(write_csv),
    ".yaml": _text_writer(write_yaml),
    ".yml": _text_writer(write_yaml),
    ".xlsx": _write_xlsx,
}


def export_records(records: Iterable[Record], path: Path) -> int:
    """Write RECORDS to PATH atomically (a temporary file renamed into place); return the count."""
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        known = ", ".join(sorted(WRITERS))
        raise ConfigurationError(f"{path}: unknown file type; use one of {known}")
    directory = path.resolve().parent
    if not directory.is_dir():
        raise ConfigurationError(f"{path}: directory {directory} does not exist")
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(handle)
    try:
        count = writer(records, Path(temporary))
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return count
