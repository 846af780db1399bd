"""`pelihara inventory export FILE`: every server as CSV, YAML or XLSX, chosen by extension.

Their components go where the import reads them: a `components` sheet of the workbook, a
`components:` list under each server in YAML; a CSV holds servers only, and
`export-components` writes the components' own CSV.

CSV cells that a spreadsheet would run as a formula (starting with = + - @) get a leading
`'`, which import removes again; XLSX cells are written as text, never as formulas. The
Excel-ID CSV is what Excel in an Indonesian locale opens in columns. An existing file is
kept unless the caller forces its replacement.
"""

from __future__ import annotations

import csv
import errno
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any

import yaml

from pelihara.core.cells import cell_text
from pelihara.core.errors import ConfigurationError
from pelihara.inventory.components import COLUMNS as COMPONENT_COLUMNS
from pelihara.inventory.fields import COLUMN_NAMES
from pelihara.inventory.records import Record
from pelihara.inventory.sources import FORMULA_PREFIXES

XLSX_MAX_WIDTH = 60  # characters; a longer note wraps in the cell instead
XLSX_FILTER_BUTTON = 3  # the header's filter arrow covers about three characters
COMPONENTS_SHEET = "components"
Parts = Mapping[str, Sequence[Record]]  # each server's components, by hostname


@dataclass(frozen=True)
class CsvStyle:
    """How a CSV file is written: its delimiter, decimal mark, byte-order mark, line end."""

    delimiter: str = ","
    decimal: str = "."
    bom: bool = False
    line_end: str = "\n"


PLAIN_CSV = CsvStyle()
# Excel in an Indonesian locale: the decimal mark is the comma, so the list separator (the
# delimiter it splits a CSV on) is `;`; without a BOM it reads the bytes as Windows-1252.
EXCEL_ID_CSV = CsvStyle(delimiter=";", decimal=",", bom=True, line_end="\r\n")


def escape_formula(cell: str) -> str:
    """`=1+1` becomes `'=1+1`, so a spreadsheet shows it as text instead of running it."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def _csv_cell(value: Any, style: CsvStyle) -> str:
    text = cell_text(value)
    if isinstance(value, float):
        text = text.replace(".", style.decimal)
    return escape_formula(text)


def write_csv(
    records: Iterable[Record], stream: IO[str], style: CsvStyle = PLAIN_CSV,
    columns: Sequence[str] = COLUMN_NAMES,
) -> int:  # fmt: skip
    if style.bom:
        stream.write("\ufeff")
    writer = csv.writer(stream, delimiter=style.delimiter, lineterminator=style.line_end)
    writer.writerow(columns)
    count = 0
    for record in records:
        writer.writerow([_csv_cell(record[name], style) for name in columns])
        count += 1
    return count


def write_yaml(records: Iterable[Record], stream: IO[str], parts: Parts | None = None) -> int:
    """Each server a mapping of its non-empty fields, with its `components:` if it has any."""
    items = [_yaml_item(record, (parts or {}).get(record["hostname"], ())) for record in records]
    yaml.safe_dump({"servers": items}, stream, allow_unicode=True, sort_keys=False, width=100)
    return len(items)


def _yaml_item(record: Record, components: Sequence[Record]) -> dict[str, Any]:
    item = {k: v for k, v in record.items() if v is not None}
    if components:
        item["components"] = [
            {k: v for k, v in part.items() if v is not None and k != "hostname"}
            for part in components
        ]
    return item


def _write_xlsx(records: Iterable[Record], parts: Parts, path: Path) -> int:
    """The servers' sheet and the components sheet: each with a bold header, frozen and
    filtered, columns as wide as their content."""
    from openpyxl import Workbook

    rows = [[record[name] for name in COLUMN_NAMES] for record in records]
    exported = {str(row[COLUMN_NAMES.index("hostname")]) for row in rows}
    workbook = Workbook(write_only=True)
    _add_sheet(workbook, "inventory", COLUMN_NAMES, rows)
    components = [part for host in sorted(exported) for part in parts.get(host, ())]
    _add_sheet(workbook, COMPONENTS_SHEET, COMPONENT_COLUMNS,
               [[part[name] for name in COMPONENT_COLUMNS] for part in components])  # fmt: skip
    workbook.save(path)
    return len(rows)


def _add_sheet(workbook: Any, title: str, columns: Sequence[str], rows: list[list[Any]]) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(title)
    for index, width in enumerate(_widths(columns, rows), start=1):  # before rows: write-only
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"
    header = [WriteOnlyCell(sheet, value=name) for name in columns]
    for cell in header:
        cell.font = Font(bold=True)
    sheet.append(header)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])


def _widths(columns: Sequence[str], rows: list[list[Any]]) -> list[int]:
    """Each column's width in characters: its longest line, the header's with its button."""
    widths = []
    for index, name in enumerate(columns):
        lines = (line for row in rows for line in cell_text(row[index]).splitlines())
        longest = max((len(line) for line in lines), default=0)
        widths.append(min(max(longest, len(name) + XLSX_FILTER_BUTTON) + 2, XLSX_MAX_WIDTH))
    return widths


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


def _text_writer(write: Callable[..., int], with_parts: bool = False) -> Writer:
    """A writer of WRITE's text to a path; given the components too if WITH_PARTS."""

    def to_path(records: Iterable[Record], parts: Parts, path: Path) -> int:
        with path.open("w", encoding="utf-8", newline="") as stream:
            return write(records, stream, parts) if with_parts else write(records, stream)

    return to_path


Writer = Callable[[Iterable[Record], Parts, Path], int]
WRITERS: dict[str, Writer] = {
    ".csv": _text_writer(write_csv),
    ".yaml": _text_writer(write_yaml, with_parts=True),
    ".yml": _text_writer(write_yaml, with_parts=True),
    ".xlsx": _write_xlsx,
}
EXCEL_ID_WRITERS: dict[str, Writer] = {
    ".csv": _text_writer(partial(write_csv, style=EXCEL_ID_CSV)),
}
# Whether a file type holds the components (a CSV holds servers only).
HOLDS_COMPONENTS = frozenset({".yaml", ".yml", ".xlsx"})


def _writer(path: Path, excel_id: bool) -> Writer:
    writers = EXCEL_ID_WRITERS if excel_id else WRITERS
    writer = writers.get(path.suffix.lower())
    if writer is None:
        known = ", ".join(sorted(writers))
        what = "--excel-id writes CSV" if excel_id else "unknown file type"
        raise ConfigurationError(f"{path}: {what}; use one of {known}")
    return writer


def _exists(path: Path) -> ConfigurationError:
    return ConfigurationError(f"{path}: already exists; nothing was written (--force replaces it)")


def refuse_existing(path: Path, force: bool) -> None:
    """Refuse an existing PATH (unless FORCE) before any work: a command that records
    something (a ticket's stored diffs) must not record it and then fail to write its file."""
    if path.exists() and not force:
        raise _exists(path)


def _place(temporary: Path, path: Path, force: bool) -> None:
    """Move the written file to PATH; an existing PATH is replaced only when FORCE.

    Without FORCE a hard link puts it there only if no file has that name, even one made
    since the first check; a file system without hard links (FAT on a USB stick) gets the
    check alone."""
    if force:
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise _exists(path) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS):
            raise
        if path.exists():
            raise _exists(path) from None
        os.replace(temporary, path)


def export_records(
    records: Iterable[Record], path: Path, excel_id: bool = False, force: bool = False,
    parts: Parts | None = None,
) -> int:  # fmt: skip
    """Write RECORDS (and PARTS, their components, where the file type holds them) to PATH
    atomically (a temporary file renamed into place); return the count of servers.

    EXCEL_ID writes the CSV that Excel in an Indonesian locale opens in columns; an existing
    PATH is refused unless FORCE (before anything is read or written)."""
    writer = _writer(path, excel_id)
    return _write_atomically(path, force, lambda temporary: writer(records, parts or {}, temporary))


def export_component_records(records: Iterable[Record], path: Path, force: bool = False) -> int:
    """Write component RECORDS to the CSV at PATH that `import-components` reads back."""
    if path.suffix.lower() != ".csv":
        raise ConfigurationError(f"{path}: components are written to a .csv file")
    writer = _text_writer(partial(write_csv, columns=COMPONENT_COLUMNS))
    return _write_atomically(path, force, lambda temporary: writer(records, {}, temporary))


def _write_atomically(path: Path, force: bool, write: Callable[[Path], int]) -> int:
    """Run WRITE on a temporary file beside PATH, then move it into place (see `_place`)."""
    directory = path.resolve().parent
    if not directory.is_dir():
        raise ConfigurationError(f"{path}: directory {directory} does not exist")
    if path.exists() and not force:
        raise _exists(path)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(handle)
    try:
        count = write(Path(temporary))
        _place(Path(temporary), path, force)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return count


def write_text_file(path: Path, text: str, force: bool = False) -> None:
    """TEXT (UTF-8) into PATH as the exports are written: atomically, and an existing PATH
    refused unless FORCE (`snapshot diff -o FILE`)."""

    def write(temporary: Path) -> int:
        temporary.write_text(text, encoding="utf-8")
        return len(text)

    _write_atomically(path, force, write)
