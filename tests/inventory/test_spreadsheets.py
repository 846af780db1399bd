"""Spreadsheets as government offices make them: the synthetic files of tests/fixtures/inventory."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from openpyxl import Workbook, load_workbook
from sqlalchemy.orm import Session, sessionmaker

from pelihara.core.errors import InputError, Problem
from pelihara.inventory import fields
from pelihara.inventory.aliases import HEADER_ALIASES, NUMBERING_HEADERS
from pelihara.inventory.db import transaction
from pelihara.inventory.excel_dates import shown_date
from pelihara.inventory.importer import import_file
from pelihara.inventory.queries import list_records
from pelihara.inventory.records import Record
from pelihara.inventory.sources import SheetOptions, header_column, read_table
from tests.inventory.conftest import HEADER

Factory = sessionmaker[Session]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "inventory"
KOMINFO = FIXTURES / "daftar-server-kominfo.xlsx"
MERGED = FIXTURES / "opd-digabung.xlsx"
FORMULAS = FIXTURES / "rumus-tanpa-nilai.xlsx"
EXCEL_ID = FIXTURES / "daftar-server-excel-id.csv"


def _records(factory: Factory) -> dict[str, Record]:
    with transaction(factory, commit=False) as session:
        return {record["hostname"]: record for record in list_records(session)}


def _problems(path: Path, sheet: SheetOptions | None = None) -> list[Problem]:
    """What reading and validating PATH alone finds (no database)."""
    from pelihara.inventory.importer import read_rows

    try:
        problems = read_rows(path, sheet)[3]
    except InputError as exc:  # the file's structure: refused before its rows are read
        return exc.problems
    assert problems, f"{path.name}: no problem found"
    return problems


def _by_cell(problems: list[Problem]) -> dict[str, str]:
    return {p.cell: p.message for p in problems}


# --- the sheet, the header, the rows -------------------------------------------------------


def test_first_sheet_with_a_header_and_the_header_below_the_title_rows() -> None:
    table = read_table(KOMINFO)
    assert (table.sheet, table.header_line) == ("Daftar Server", 4)
    # The No column is no column; its numbers on rows without data make no rows.
    assert table.columns[:3] == ["hostname", "ip", "domain"]
    assert [row.line for row in table.rows] == [5, 6, 7, 8, 9, 10]
    assert table.problems == []  # the title merged across rows 1-2 is no problem


def test_the_whole_government_sheet_imports(factory: Factory) -> None:
    assert import_file(factory, KOMINFO, "tester").created == 6
    records = _records(factory)
    assert {h: r["status"] for h, r in records.items()} == {
        "kominfo-web01": "active", "kominfo-db01": "active", "kominfo-mail01": "maintenance",
        "kominfo-arsip01": "withdrawn", "kominfo-sipd01": "active", "kominfo-dev01": "active",
    }  # fmt: skip
    web, db, mail = records["kominfo-web01"], records["kominfo-db01"], records["kominfo-mail01"]
    assert (web["opd"], web["site"], web["rack"], web["rack_unit"]) == (
        "Dinas Komunikasi dan Informatika", "DC Utama", "R01", 4,
    )  # fmt: skip
    assert (web["vendor"], web["model"], web["serial"], web["asset_tag"]) == (
        "Dell", "PowerEdge R740", "7KX2PL3", "KOMINFO/DC/2021/003",
    )  # fmt: skip
    assert (web["cpu_cores"], web["memory_gb"], web["disk_gb"], web["os"]) == (
        24, 64, 1200, "Debian 12",
    )  # fmt: skip
    assert db["ip"] == ["10.30.1.12", "10.30.250.12"]
    assert mail["memory_gb"] == 15.5
    # A formula is read by the result Excel saved with it (here an empty text: no note).
    assert records["kominfo-sipd01"]["domain"] == "sipd.kominfo.kotacontoh.go.id"
    assert db["notes"] is None


def test_dates_in_text_columns_are_kept_as_written(factory: Factory) -> None:
    import_file(factory, KOMINFO, "tester")
    records = _records(factory)
    assert records["kominfo-web01"]["notes"] == "12/03/2021"  # not 2021-03-12 00:00:00
    assert records["kominfo-dev01"]["serial"] == "2-Nov"


def test_sheet_option_chooses_the_sheet(factory: Factory) -> None:
    summary = import_file(factory, KOMINFO, "tester", sheet=SheetOptions(name="Arsip 2025"))
    assert summary.created == 1
    assert list(_records(factory)) == ["kominfo-old01"]
    (problem,) = _problems(KOMINFO, SheetOptions(name="Arsip 2026"))
    assert "no sheet named 'Arsip 2026'" in problem.message
    assert "'Petunjuk', 'Daftar Server', 'Arsip 2025'" in problem.message


def _sheet_with_header_at(path: Path, row: int) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Data"
    for number in range(1, row):
        sheet.cell(number, 1, f"Catatan {number}")
    sheet.cell(row, 1, "Server")  # not a column pelihara knows: the header is not found
    for column, name in enumerate(["IP", "Domain", "OPD"], start=2):
        sheet.cell(row, column, name)
    sheet.append(["web1", "10.0.0.1", "web1.kota.go.id", "Dinas Sosial"])
    workbook.save(path)
    return path


def test_header_row_option_when_the_header_is_not_found(tmp_path: Path) -> None:
    path = _sheet_with_header_at(tmp_path / "inv.xlsx", 3)
    (problem,) = _problems(path)
    assert "no header row found" in problem.message
    assert "--header-row N" in problem.message
    problems = _problems(path, SheetOptions(header_row=3))
    assert {(p.cell, p.column) for p in problems} == {
        ("Data!A3", "server"),  # the unknown column, at its header cell
        ("Data!3:3", "hostname"),  # the missing column, named once: the header row
    }


def test_header_row_option_finds_a_header_below_the_searched_rows(
    factory: Factory, tmp_path: Path
) -> None:
    path = _sheet_with_header_at(tmp_path / "inv.xlsx", 40)
    workbook = load_workbook(path)
    workbook.active["A40"] = "Nama Host"  # type: ignore[index]
    workbook.save(path)
    assert "no header row found" in _problems(path)[0].message  # row 40 is below the search
    summary = import_file(factory, path, "tester", sheet=SheetOptions(header_row=40))
    assert summary.created == 1


def test_sheet_options_are_refused_for_csv(write: Callable[..., Path]) -> None:
    from pelihara.core.errors import ConfigurationError

    path = write("inv.csv", f"{HEADER}\nweb1,10.0.0.1,web1.kota.go.id,D\n")
    with pytest.raises(ConfigurationError, match=r"--sheet and --header-row are for \.xlsx"):
        read_table(path, SheetOptions(name="Server"))


def test_a_file_that_is_no_workbook(tmp_path: Path) -> None:
    (tmp_path / "text.xlsx").write_text("DAFTAR SERVER\n", encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "zip.xlsx", "w") as archive:
        archive.writestr("[Content_Types].xml", "<<< not XML")
    for name in ("text.xlsx", "zip.xlsx"):
        (problem,) = _problems(tmp_path / name)
        assert problem.message.startswith("not a readable XLSX workbook"), name


# --- refused, each at its cell -------------------------------------------------------------


def test_merged_cells_are_reported_as_merged_at_their_cell(factory: Factory) -> None:
    problems = _problems(MERGED)
    assert _by_cell(problems).keys() == {"'Server Dinkes'!E4", "'Server Dinkes'!C6"}
    merged = _by_cell(problems)["'Server Dinkes'!E4"]
    assert merged.startswith("cells E4:E6 are merged: Excel shows 'Dinas Kesehatan' in each")
    assert "unmerge them" in merged
    with pytest.raises(InputError) as caught:
        import_file(factory, MERGED, "tester")
    # The new servers of rows 5 and 6 have no OPD of their own (only E4 holds it).
    assert _by_cell(caught.value.problems).keys() == {
        "'Server Dinkes'!E4", "'Server Dinkes'!E5", "'Server Dinkes'!E6", "'Server Dinkes'!C6",
    }  # fmt: skip
    assert _records(factory) == {}


def test_xlsx_messages_name_the_cell_instead_of_the_line(factory: Factory) -> None:
    with pytest.raises(InputError) as caught:
        import_file(factory, MERGED, "tester")
    shown = [str(p) for p in caught.value.problems]
    where = f"{MERGED}:'Server Dinkes'"
    assert f"{where}!C6 [ip]: '10.40.1.300' is not an IPv4 or IPv6 address" in shown
    assert f"{where}!E5 [opd]: required value is missing" in shown


def test_csv_messages_keep_their_line(write: Callable[..., Path]) -> None:
    path = write("inv.csv", f"{HEADER}\nweb1,10.0.0.300,web1.kota.go.id,D\n")
    (problem,) = _problems(path)
    assert (problem.cell, str(problem)) == (
        "",
        f"{path}:2 [ip]: '10.0.0.300' is not an IPv4 or IPv6 address",
    )


def test_formula_without_saved_result_error_value_and_value_without_header() -> None:
    problems = _by_cell(_problems(FORMULAS))
    assert problems["Server!C2"] == (
        'the formula =A2&".disdik.kotacontoh.go.id" has no saved result (the file was written '
        "by a program): open and save the file in Excel, then import it again"
    )
    assert problems["Server!E3"] == "the cell shows the error #N/A: correct it in Excel"
    assert problems["Server!F3"].startswith("a value in a column without a header")


def test_database_problems_of_a_spreadsheet_name_their_cell(
    factory: Factory, write: Callable[..., Path]
) -> None:
    import_file(factory, write("a.csv", f"{HEADER}\nother,10.30.1.13,o.kota.go.id,D\n"), "t")
    with pytest.raises(InputError) as caught:
        import_file(factory, KOMINFO, "tester")
    (problem,) = caught.value.problems
    assert problem.cell == "'Daftar Server'!C7"
    assert "already belongs to server other" in problem.message


# --- Indonesian names, numbering, statuses -------------------------------------------------

ALIASES = [(alias, column) for column, names in HEADER_ALIASES.items() for alias in names]


@pytest.mark.parametrize(("alias", "column"), ALIASES)
def test_every_alias_names_its_column(alias: str, column: str) -> None:
    assert column in fields.COLUMN_NAMES
    assert header_column(alias) == column
    assert header_column(f" {alias.upper()} ") == column


@pytest.mark.parametrize("name", [*NUMBERING_HEADERS, "NO", " no. "])
def test_numbering_column_is_ignored(name: str) -> None:
    assert header_column(name) is None


@pytest.mark.parametrize(
    ("header", "column"),
    [("Memory (GB)", "memory_gb"), ("Rack Unit", "rack_unit"), ("colour", "colour")],
)
def test_english_names_with_punctuation_and_unknown_names(header: str, column: str) -> None:
    assert header_column(header) == column


@pytest.mark.parametrize(
    ("cell", "status"),
    [("aktif", "active"), ("Pemeliharaan", "maintenance"), ("DITARIK", "withdrawn"),
     ("active", "active"), ("withdrawn", "withdrawn")],
)  # fmt: skip
def test_status_in_indonesian(cell: str, status: str) -> None:
    assert fields.FIELD_BY_NAME["status"].parse(cell) == status


def test_unknown_status_names_both_languages() -> None:
    with pytest.raises(ValueError, match="active, maintenance, withdrawn, aktif"):
        fields.FIELD_BY_NAME["status"].parse("rusak")


def test_excel_id_csv_with_indonesian_names_and_numbering(factory: Factory) -> None:
    assert import_file(factory, EXCEL_ID, "tester").created == 2
    records = _records(factory)
    atcs, web = records["dishub-atcs01"], records["dishub-web01"]
    assert (atcs["memory_gb"], atcs["disk_gb"], atcs["status"]) == (47.5, 1920, "active")
    assert atcs["notes"] == "Kamera lalu lintas; 42 simpang"
    assert (web["ip"], web["status"], web["memory_gb"]) == (
        ["10.60.1.12", "10.60.250.12"], "maintenance", 15.5,
    )  # fmt: skip


def test_cli_import_sheet_and_header_row_options(run: Callable[..., Result]) -> None:
    result = run("inventory", "import", "--sheet", "Arsip 2025", "--header-row", "1", str(KOMINFO))
    assert result.exit_code == 0, result.output
    assert "1 new" in result.output
    bad = run("inventory", "import", str(MERGED))
    assert bad.exit_code == 3
    assert "opd-digabung.xlsx:'Server Dinkes'!E4 [opd]: cells E4:E6 are merged" in bad.stderr
    zero = run("inventory", "import", "--header-row", "0", str(KOMINFO))
    assert zero.exit_code == 2


# --- dates as Excel in an Indonesian locale shows them -------------------------------------

MOMENT = datetime(2021, 8, 12, 14, 5, 9)


@pytest.mark.parametrize(
    ("number_format", "shown"),
    [
        ("mm-dd-yy", "12/08/2021"),  # built-in 14: the regional short date
        ("m/d/yy h:mm", "12/08/2021 14:05"),  # built-in 22
        ("d-mmm", "12-Agu"),
        ("d-mmm-yy", "12-Agu-21"),
        ("dd/mm/yyyy;@", "12/08/2021"),
        ("yyyy-mm-dd", "2021-08-12"),
        ("[$-421]dddd, d mmmm yyyy", "Kamis, 12 Agustus 2021"),
        ("[$-409]mmmm d, yyyy", "August 12, 2021"),
        ("h:mm AM/PM", "2:05 PM"),
        ('"Tgl "dd', "Tgl 12"),
        ("General", "12/08/2021"),
    ],
)
def test_shown_date(number_format: str, shown: str) -> None:
    assert shown_date(MOMENT, number_format) == shown


def test_shown_times_and_durations() -> None:
    assert shown_date(time(9, 30), "hh:mm") == "09:30"
    assert shown_date(timedelta(hours=30, minutes=5), "[h]:mm") == "30:05"
