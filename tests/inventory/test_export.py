"""`inventory export`: a round trip gives the same records; no spreadsheet formula injection."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from pelihara import migrations
from pelihara.inventory.db import make_engine, session_factory, transaction
from pelihara.inventory.exporter import export_records
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
