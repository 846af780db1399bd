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

import yaml

from pelihara.core.errors import InputError, Problem

FORMULA_PREFIXES = ("=", "+", "-", "@")


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
    if len(record) > len(table.columns) and any(c.strip() for c in record[len(table.columns) :]):
        cells["\0extra"] = f"{len(record)} cells but the header has {len(table.columns)}"
    return RawRow(line, cells)


def _yaml_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(_yaml_cell(item) for item in value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value).strip()


class _LineLoader(yaml.SafeLoader):
    """A safe loader that records each mapping's line number under the key `\\0line`."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["\0line"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> Table:
    try:
        document = yaml.load(_decode(path), Loader=_LineLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise InputError([Problem(str(path), line, "", f"not valid YAML: {exc}")]) from None
    if isinstance(document, dict) and "servers" in document:
        document = document["servers"]
    if not isinstance(document, list) or not all(isinstance(item, dict) for item in document):
        raise InputError(
            [Problem(str(path), 1, "", "expected a list of servers (or a mapping with 'servers:')")]
        )
    return _yaml_table(str(path), document)


def _yaml_table(name: str, items: list[dict[Any, Any]]) -> Table:
    table = Table(name, [])
    seen: dict[str, None] = {}
    for item in items:
        line = int(item.pop("\0line", 0))
        cells = {normalise_column(str(key)): _yaml_cell(value) for key, value in item.items()}
        seen.update(dict.fromkeys(cells))
        table.rows.append(RawRow(line, cells))
    table.columns = list(seen)
    table.header_line = 0
    return table


def _xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
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
