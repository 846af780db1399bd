"""`inventory export`: a round trip gives the same records; no spreadsheet formula injection."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session, sessionmaker

from pelihara import migrations
from pelihara.core.cells import cell_text
from pelihara.core.errors import ConfigurationError
from pelihara.inventory.db import make_engine, session_factory, transaction
from pelihara.inventory.exporter import export_records
from pelihara.inventory.fields import COLUMN_NAMES
from pelihara.inventory.importer import import_file
from pelihara.inventory.queries import list_records
from pelihara.inventory.records import Record
from tests.inventory.conftest import EXAMPLE, HEADER

Factory = sessionmaker[Session]


def _records(factory: Factory) -> list[Record]:
    with transaction(factory, commit=False) as session:
        return list(list_records(session))


def _empty_database(tmp_path: Path) -> Factory:
    engine = make_engine(f"sqlite:///{tmp_path / 'second.db'}")
    migrations.upgrade(engine)
    return session_factory(engine)


@pytest.mark.parametrize("suffix", [".csv", ".yaml", ".xlsx"])
def test_export_then_import_into_empty_database_gives_same_records(
    factory: Factory, tmp_path: Path, suffix: str
) -> None:
    import_file(factory, EXAMPLE, "tester")
    original = _records(factory)
    path = tmp_path / f"export{suffix}"
    assert export_records(iter(original), path) == 50
    second = _empty_database(tmp_path)
    assert import_file(second, path, "tester").created == 50
    assert _records(second) == original


FORMULAS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)"]


def _with_notes(write: Callable[..., Path]) -> Path:
    rows = [f'web{i},10.0.0.{i},w{i}.kota.go.id,D,"{n.replace(chr(34), chr(34) * 2)}"'
            for i, n in enumerate(FORMULAS, start=1)]  # fmt: skip
    return write("formulas.csv", f"{HEADER},notes\n" + "\n".join(rows) + "\n")


def test_csv_export_escapes_formula_cells_and_import_restores_them(
    factory: Factory, write: Callable[..., Path], tmp_path: Path
) -> None:
    import_file(factory, _with_notes(write), "tester")
    path = tmp_path / "out.csv"
    export_records(iter(_records(factory)), path)
    with path.open(encoding="utf-8", newline="") as stream:
        notes = [row["notes"] for row in csv.DictReader(stream)]
    assert notes == ["'" + formula for formula in FORMULAS]
    second = _empty_database(tmp_path)
    import_file(second, path, "tester")
    assert [r["notes"] for r in _records(second)] == FORMULAS


def test_xlsx_export_writes_formula_like_text_as_text(
    factory: Factory, write: Callable[..., Path], tmp_path: Path
) -> None:
    import_file(factory, _with_notes(write), "tester")
    path = tmp_path / "out.xlsx"
    export_records(iter(_records(factory)), path)
    sheet = load_workbook(path).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    notes = [row[header.index("notes")] for row in sheet.iter_rows(min_row=2)]
    assert [cell.value for cell in notes] == FORMULAS
    assert {cell.data_type for cell in notes} == {"s"}


def test_export_cli_by_extension_and_unknown_extension(
    run: Callable[..., object], tmp_path: Path
) -> None:
    run("inventory", "import", str(EXAMPLE))
    result = run("inventory", "export", str(tmp_path / "inv.yml"))
    assert "50 servers exported" in result.output  # type: ignore[attr-defined]
    assert "servers:" in (tmp_path / "inv.yml").read_text(encoding="utf-8")
    bad = run("inventory", "export", str(tmp_path / "inv.pdf"))
    assert bad.exit_code == 2  # type: ignore[attr-defined]
    assert "unknown file type" in bad.stderr  # type: ignore[attr-defined]
    assert not (tmp_path / "inv.pdf").exists()


def test_excel_id_csv_opens_in_columns_and_imports_back(factory: Factory, tmp_path: Path) -> None:
    import_file(factory, EXAMPLE, "tester")
    original = _records(factory)
    path = tmp_path / "excel.csv"
    assert export_records(iter(original), path, excel_id=True) == 50
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: Excel reads it as UTF-8
    lines = data[3:].decode("utf-8").split("\r\n")
    assert lines[0] == ";".join(COLUMN_NAMES)  # `;`: the Indonesian list separator
    satpol = next(line for line in lines if line.startswith("satpolpp-app01;"))
    assert ";15,5;7680;" in satpol  # decimal comma; whole numbers as they are
    assert "10.20.20.11" in satpol  # addresses keep their dots
    second = _empty_database(tmp_path)
    assert import_file(second, path, "tester").created == 50
    assert _records(second) == original


def test_excel_id_only_for_csv(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="--excel-id writes CSV"):
        export_records(iter([]), tmp_path / "inv.xlsx", excel_id=True)


def test_xlsx_export_header_is_bold_frozen_filtered_and_columns_fit(
    factory: Factory, tmp_path: Path
) -> None:
    import_file(factory, EXAMPLE, "tester")
    records = _records(factory)
    path = tmp_path / "inv.xlsx"
    export_records(iter(records), path)
    sheet = load_workbook(path).worksheets[0]
    assert all(cell.font.bold for cell in sheet[1])
    assert not any(cell.font.bold for cell in sheet[2])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:W51"
    widths = {name: sheet.column_dimensions[get_column_letter(i)].width
              for i, name in enumerate(COLUMN_NAMES, start=1)}  # fmt: skip
    for name in COLUMN_NAMES:
        longest = max(len(cell_text(record[name])) for record in records)
        assert max(longest, len(name)) < widths[name] <= 60, name
    longest_domain = max(len(record["domain"]) for record in records)
    assert widths["domain"] == longest_domain + 2
    assert widths["ssh_port"] < widths["domain"]


def test_export_refuses_to_overwrite_without_force(
    factory: Factory, run: Callable[..., Result], tmp_path: Path
) -> None:
    import_file(factory, EXAMPLE, "tester")
    path = tmp_path / "inv.csv"
    path.write_text("keep me\n", encoding="utf-8")
    result = run("inventory", "export", str(path))
    assert result.exit_code == 2
    assert "already exists; nothing was written (--force replaces it)" in result.stderr
    assert path.read_text(encoding="utf-8") == "keep me\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".inv")] == []
    forced = run("inventory", "export", "--force", "--excel-id", str(path))
    assert forced.exit_code == 0, forced.output
    assert path.read_bytes().startswith(b"\xef\xbb\xbfhostname;ip;")


def test_export_refuses_a_file_made_while_it_wrote(factory: Factory, tmp_path: Path) -> None:
    """The check before writing is not the only one: a file that appears meanwhile is kept."""
    import_file(factory, EXAMPLE, "tester")
    path = tmp_path / "inv.yaml"

    def records_then_a_file() -> Iterator[Record]:
        yield from _records(factory)
        path.write_text("made meanwhile\n", encoding="utf-8")

    with pytest.raises(ConfigurationError, match="already exists"):
        export_records(records_then_a_file(), path)
    assert path.read_text(encoding="utf-8") == "made meanwhile\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".inv")] == []
