"""`inventory import`: validated, all-or-nothing, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pelihara.core.errors import InputError, Problem
from pelihara.inventory import audit
from pelihara.inventory.db import transaction
from pelihara.inventory.importer import import_file
from pelihara.inventory.models import Server
from pelihara.inventory.queries import find_server, list_records
from tests.inventory.conftest import EXAMPLE, HEADER

Factory = sessionmaker[Session]


def _count(factory: Factory) -> int:
    with transaction(factory, commit=False) as session:
        return session.scalar(select(func.count()).select_from(Server)) or 0


def _rejected(factory: Factory, path: Path) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        import_file(factory, path, "tester")
    return caught.value.problems


def _where(problems: list[Problem]) -> set[tuple[int, str]]:
    return {(p.line, p.column) for p in problems}


def test_example_inventory_imports_whole(factory: Factory) -> None:
    summary = import_file(factory, EXAMPLE, "tester")
    assert (summary.created, summary.updated, summary.unchanged) == (50, 0, 0)
    with transaction(factory, commit=False) as session:
        records = list(list_records(session))
        server = find_server(session, "10.20.250.14")  # a secondary address
        assert server.hostname == "dinkes-db01"
        assert server.addresses[0].address == "10.20.11.12"
        assert audit.verify(session).ok
    assert len(records) == 50
    assert {r["site"] for r in records} == {"DC Utama", "DRC Kantor Walikota"}


def test_reimport_updates_changed_rows_only_and_audits_before_after(
    factory: Factory, write: Callable[..., Path]
) -> None:
    import_file(factory, EXAMPLE, "tester")
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "dinkes-db01,10.20.11.12 10.20.250.14,", "dinkes-db01,10.20.11.99 10.20.250.14,"
    )
    summary = import_file(factory, write("changed.csv", text), "alice")
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 49)
    with transaction(factory, commit=False) as session:
        (entry,) = audit.recent(session, 1)
        assert (entry.actor, entry.action, entry.entity_key) == ("alice", "update", "dinkes-db01")
        assert entry.before is not None and entry.after is not None
        assert entry.before["ip"] == ["10.20.11.12", "10.20.250.14"]
        assert entry.after["ip"] == ["10.20.11.99", "10.20.250.14"]


def test_excel_indonesian_csv_semicolons_bom_crlf_decimal_comma(
    factory: Factory, write: Callable[..., Path]
) -> None:
    text = (
        "Hostname;IP;Domain;OPD;Memory GB;Disk_GB;Notes\r\n"
        'web1;"10.1.0.1, 10.1.0.2";web1.kota.go.id;Dinas Sosial;15,5;1,5;"baris\r\nkedua"\r\n'
        ";;;;;;\r\n"
    )
    path = write("excel.csv", "\ufeff".encode() + text.encode("utf-8"))
    summary = import_file(factory, path, "tester")
    assert summary.created == 1
    with transaction(factory, commit=False) as session:
        (record,) = list_records(session)
    assert record["memory_gb"] == 15.5 and record["disk_gb"] == 1.5
    assert record["ip"] == ["10.1.0.1", "10.1.0.2"]
    assert record["notes"] == "baris\r\nkedua"


BAD_ROWS = (
    f"{HEADER},cpu_cores,memory_gb,snmp_version,colour\n"
    "ok1,10.0.0.1,ok1.kota.go.id,Dinas A,4,8,2c,\n"  # line 2: fine, but colour is unknown
    "bad-ip,10.0.0.300,b.kota.go.id,Dinas A,4,8,2c,\n"  # line 3
    "bad-dom,10.0.0.3,not_a_domain,Dinas A,4,8,2c,\n"  # line 4
    "bad-num,10.0.0.4,c.kota.go.id,Dinas A,many,8,2c,\n"  # line 5
    "bad-range,10.0.0.5,d.kota.go.id,Dinas A,4,-2,2c,\n"  # line 6
    "bad-enum,10.0.0.6,e.kota.go.id,Dinas A,4,8,4,\n"  # line 7
    "no-opd,10.0.0.7,f.kota.go.id,,4,8,2c,\n"  # line 8
    "ok1,10.0.0.8,g.kota.go.id,Dinas A,4,8,2c,\n"  # line 9: hostname again
    "dup-ip,10.0.0.1,h.kota.go.id,Dinas A,4,8,2c,\n"  # line 10: ip of line 2
)


def test_bad_file_names_every_problem_and_imports_nothing(
    factory: Factory, write: Callable[..., Path]
) -> None:
    problems = _rejected(factory, write("bad.csv", BAD_ROWS))
    assert _where(problems) == {
        (1, "colour"),
        (3, "ip"),
        (4, "domain"),
        (5, "cpu_cores"),
        (6, "memory_gb"),
        (7, "snmp_version"),
        (8, "opd"),
        (9, "hostname"),
        (10, "ip"),
    }
    assert all(p.file.endswith("bad.csv") for p in problems)
    assert _count(factory) == 0
    with transaction(factory, commit=False) as session:
        assert audit.count(session) == 0


def test_cli_prints_every_problem_and_exits_3_without_traceback(
    run: Callable[..., Result], write: Callable[..., Path]
) -> None:
    result = run("inventory", "import", str(write("bad.csv", BAD_ROWS)))
    assert result.exit_code == 3
    assert "Traceback" not in result.output + result.stderr
    assert "bad.csv:5 [cpu_cores]: 'many' is not a number" in result.stderr
    assert "bad.csv:10 [ip]: 10.0.0.1 is already used on line 2" in result.stderr
    assert "9 problems found; nothing was imported" in result.stderr
    assert "0 servers" in run("inventory", "list").output


def test_missing_required_column_is_named_on_the_header_line(
    factory: Factory, write: Callable[..., Path]
) -> None:
    problems = _rejected(factory, write("cols.csv", "hostname,ip\nweb1,10.0.0.1\n"))
    assert {(1, "domain"), (1, "opd")} <= _where(problems)


def test_address_of_a_server_in_the_database_is_refused(
    factory: Factory, write: Callable[..., Path]
) -> None:
    import_file(
        factory, write("a.csv", f"{HEADER},serial\nweb1,10.0.0.1,a.kota.go.id,D,SN1\n"), "t"
    )
    clash = write("b.csv", f"{HEADER},serial\nweb2,10.0.0.1,b.kota.go.id,D,SN1\n")
    problems = _rejected(factory, clash)
    assert _where(problems) == {(2, "ip"), (2, "serial")}
    assert "belongs to server web1" in problems[0].message
    assert _count(factory) == 1


def test_an_address_can_move_between_servers_in_one_file(
    factory: Factory, write: Callable[..., Path]
) -> None:
    first = f"{HEADER}\nweb1,10.0.0.1 10.0.0.2,a.kota.go.id,D\nweb2,10.0.0.3,b.kota.go.id,D\n"
    import_file(factory, write("a.csv", first), "t")
    moved = f"{HEADER}\nweb1,10.0.0.1,a.kota.go.id,D\nweb2,10.0.0.3 10.0.0.2,b.kota.go.id,D\n"
    assert import_file(factory, write("b.csv", moved), "t").updated == 2
    with transaction(factory, commit=False) as session:
        assert find_server(session, "10.0.0.2").hostname == "web2"


def test_absent_column_keeps_value_and_empty_cell_clears_it(
    factory: Factory, write: Callable[..., Path]
) -> None:
    import_file(
        factory,
        write("a.csv", f"{HEADER},os,notes\nweb1,10.0.0.1,a.kota.go.id,D,Debian 12,x\n"),
        "t",
    )
    import_file(factory, write("b.csv", f"{HEADER},notes\nweb1,10.0.0.1,a.kota.go.id,D,\n"), "t")
    with transaction(factory, commit=False) as session:
        (record,) = list_records(session)
    assert record["os"] == "Debian 12" and record["notes"] is None


def test_dry_run_validates_counts_and_writes_nothing(factory: Factory) -> None:
    summary = import_file(factory, EXAMPLE, "tester", dry_run=True)
    assert (summary.created, summary.dry_run) == (50, True)
    assert _count(factory) == 0


def test_yaml_import_and_its_line_numbers(factory: Factory, write: Callable[..., Path]) -> None:
    text = (
        "servers:\n"
        "  - hostname: web1\n"
        "    ip: [10.0.0.1, 10.0.0.2]\n"
        "    domain: web1.kota.go.id\n"
        "    opd: Dinas Sosial\n"
        "    memory_gb: 15.5\n"
        "  - hostname: web2\n"  # line 7
        "    ip: 10.0.0.9\n"
        "    domain: web2.kota.go.id\n"
        "    opd: Dinas Sosial\n"
        "    rack_unit: 5\n"
        "    cpu_cores: 0\n"
        "    color: red\n"
    )
    problems = _rejected(factory, write("inv.yaml", text))
    assert _where(problems) == {(7, "cpu_cores"), (7, "color"), (7, "rack")}
    good = text.split("  - hostname: web2", maxsplit=1)[0]
    assert import_file(factory, write("good.yaml", good), "t").created == 1


def test_xlsx_import_with_numbers_as_numbers(factory: Factory, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["hostname", "ip", "domain", "opd", "cpu_cores", "memory_gb", "rack_unit"])
    sheet.append(["web1", "10.0.0.1", "web1.kota.go.id", "Dinas Sosial", 16.0, 15.5, None])
    sheet.append(["web2", "10.0.0.2", "web2.kota.go.id", "Dinas Sosial", 8, 32, "x"])
    workbook.save(tmp_path / "inv.xlsx")
    problems = _rejected(factory, tmp_path / "inv.xlsx")
    assert _where(problems) == {(3, "rack_unit")}
    sheet.delete_rows(3)
    workbook.save(tmp_path / "inv.xlsx")
    import_file(factory, tmp_path / "inv.xlsx", "t")
    with transaction(factory, commit=False) as session:
        (record,) = list_records(session)
    assert (record["cpu_cores"], record["memory_gb"]) == (16, 15.5)


def test_not_utf8_and_unknown_type_and_missing_file(
    factory: Factory, write: Callable[..., Path]
) -> None:
    latin = write(
        "latin.csv",
        f"{HEADER}\nweb1,10.0.0.1,a.kota.go.id,Dinas Pekerjaan Umum\n".encode()
        + "caf\xe9\n".encode("latin-1"),
    )
    assert "not UTF-8" in _rejected(factory, latin)[0].message
    assert _rejected(factory, latin)[0].line == 3
    assert "unknown file type" in _rejected(factory, write("inv.txt", "x"))[0].message
    assert "no such file" in _rejected(factory, Path("/nonexistent/inv.csv"))[0].message
