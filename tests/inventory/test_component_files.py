"""Issue 11, 5: components in the servers' own file (a workbook's `components` sheet, a YAML
`components:` list), checked with the servers in one run and written in one transaction;
and written back by `inventory export`, so that an export imports into an empty database
as the same servers and components. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pelihara import migrations
from pelihara.core.errors import InputError
from pelihara.inventory.audit_state import state_differences
from pelihara.inventory.db import make_engine, session_factory, transaction
from pelihara.inventory.importer import import_file
from pelihara.inventory.models import Component, Server
from pelihara.inventory.sources import SheetOptions
from tests.inventory.conftest import HEADER

Factory = sessionmaker[Session]
Run = Callable[..., Result]
Write = Callable[..., Path]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "inventory"

YAML = """\
servers:
  - hostname: web1
    ip: 10.0.0.1
    domain: w1.kota.go.id
    opd: Dinas Kesehatan
    components:
      - kind: disk
        model: ST4000NM
        serial: D1
        slot: bay 1
      - {kind: psu, serial: P1, status: withdrawn}
  - hostname: web2
    ip: 10.0.0.2
    domain: w2.kota.go.id
    opd: Dinas Kesehatan
"""

Part = tuple[str, str, str | None, str | None, str | None, str]


def _parts(factory: Factory) -> list[Part]:
    with transaction(factory, commit=False) as session:
        stmt = select(Component, Server.hostname).join(Component.server).order_by(Component.serial)
        return [(host, c.kind, c.model, c.serial, c.slot, c.status)
                for c, host in session.execute(stmt)]  # fmt: skip


def _problems(factory: Factory, path: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        import_file(factory, path, "t")
    return [str(problem) for problem in caught.value.problems]


def _servers(factory: Factory) -> list[str]:
    with transaction(factory, commit=False) as session:
        return sorted(session.scalars(select(Server.hostname)))


def test_a_workbook_with_a_components_sheet_first(factory: Factory) -> None:
    summary = import_file(factory, FIXTURES / "server-dan-komponen.xlsx", "t")
    assert (summary.created, summary.components and summary.components.created) == (2, 5)
    assert _parts(factory) == [
        ("diskominfo-gis01", "psu", "Delta DPS-750AB", "PSU0042A", "PSU1", "installed"),
        ("diskominfo-gis01", "memory", "Samsung M393A4K40", "S4K40-0001", "DIMM A1", "installed"),
        ("diskominfo-gis02", "nic", "Intel X710-DA2", "X710-77F1", "PCIe 2", "withdrawn"),
        ("diskominfo-gis01", "disk", "Seagate ST4000NM0035", "ZC1A2B3C", "Bay 1", "installed"),
        ("diskominfo-gis01", "disk", "Seagate ST4000NM0035", "ZC1A2B3D", "Bay 2", "installed"),
    ]
    with transaction(factory, commit=False) as session:
        assert state_differences(session) == []


def test_a_workbook_s_problems_name_their_sheet_and_cell(factory: Factory, tmp_path: Path) -> None:
    workbook = load_workbook(FIXTURES / "server-dan-komponen.xlsx")
    workbook["Komponen"]["C5"] = "Kipas"  # the kind of row 5: no such kind
    workbook["Komponen"]["B6"] = "diskominfo-gis09"  # no such server, in the file or database
    workbook["Komponen"]["E7"] = "ZC1A2B3C"  # the serial of row 4 again
    workbook["Server"]["C3"] = "10.30.2.300"  # and a problem of the servers' sheet
    path = tmp_path / "x.xlsx"
    workbook.save(path)
    assert _problems(factory, path) == [  # by row, whichever the sheet
        f"{path}:Server!C3 [ip]: '10.30.2.300' is not an IPv4 or IPv6 address",
        f"{path}:Komponen!C5 [kind]: unknown kind 'Kipas'; use one of "
        "cpu, disk, memory, nic, other, psu",
        f"{path}:Komponen!B6 [hostname]: no server diskominfo-gis09 in the inventory",
        f"{path}:Komponen!E7 [serial]: serial ZC1A2B3C is also on line 4",
    ]
    assert _servers(factory) == [] and _parts(factory) == []


def test_sheet_names_the_servers_sheet_not_the_components(factory: Factory) -> None:
    path = FIXTURES / "server-dan-komponen.xlsx"
    with pytest.raises(InputError) as caught:
        import_file(factory, path, "t", sheet=SheetOptions("Komponen"))
    assert [str(problem) for problem in caught.value.problems] == [
        f"{path}: sheet 'Komponen' holds the components: --sheet names the servers' sheet"
    ]


def test_yaml_components_under_their_server(factory: Factory, write: Write, run: Run) -> None:
    summary = import_file(factory, write("inv.yaml", YAML), "t")
    assert summary.components is not None and summary.components.created == 2
    assert _parts(factory) == [
        ("web1", "disk", "ST4000NM", "D1", "bay 1", "installed"),
        ("web1", "psu", None, "P1", None, "withdrawn"),
    ]
    result = run("inventory", "import", str(write("again.yaml", YAML)))
    assert result.exit_code == 0, result.stderr
    assert "components: 0 new components, 0 updated, 2 unchanged" in result.stdout


def test_yaml_component_problems_at_their_lines(factory: Factory, write: Write) -> None:
    bad = YAML.replace("kind: disk", "kind: fan").replace("{kind: psu, serial: P1", "{kind: psu")
    bad = bad.replace("        slot: bay 1\n", "        slot: bay 1\n        colour: red\n")
    path = write("bad.yaml", bad + "    components: [disk]\n")
    assert _problems(factory, path) == [
        f"{path}:7 [colour]: unknown column (known columns: "
        "hostname, kind, model, serial, slot, status)",
        f"{path}:7 [kind]: unknown kind 'fan'; use one of cpu, disk, memory, nic, other, psu",
        f"{path}:12 [serial]: required value is missing",
        f"{path}:17 [components]: component 1 is the value 'disk', not a mapping of column: value",
    ]
    assert _servers(factory) == []


def test_a_serial_of_another_server_in_the_database(factory: Factory, write: Write) -> None:
    import_file(factory, write("inv.yaml", YAML), "t")
    moved = YAML.replace("      - kind: disk\n        model: ST4000NM\n        serial: D1\n"
                         "        slot: bay 1\n", "")  # fmt: skip
    moved += "    components:\n      - {kind: disk, serial: D1}\n"
    path = write("moved.yaml", moved)
    assert _problems(factory, path) == [f"{path}:13 [serial]: serial D1 is a component of web1"]


def test_export_xlsx_and_yaml_round_trip(factory: Factory, write: Write, run: Run,
                                         tmp_path: Path) -> None:  # fmt: skip
    import_file(factory, write("inv.yaml", YAML), "t")
    expected = _parts(factory)
    for name in ("out.xlsx", "out.yaml"):
        result = run("inventory", "export", str(tmp_path / name))
        assert result.exit_code == 0, result.stderr
        assert "2 servers exported, with 2 components" in result.stdout
        engine = make_engine(f"sqlite:///{tmp_path / (name + '.db')}")
        migrations.upgrade(engine)
        empty = session_factory(engine)
        import_file(empty, tmp_path / name, "t")
        assert _parts(empty) == expected
        assert _servers(empty) == ["web1", "web2"]
        engine.dispose()
    sheet = load_workbook(tmp_path / "out.xlsx")["components"]
    assert [cell.value for cell in sheet[1]] == [
        "hostname", "kind", "model", "serial", "slot", "status",
    ]  # fmt: skip
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2"


def test_a_csv_export_says_where_the_components_are(
    factory: Factory, write: Write, run: Run, tmp_path: Path
) -> None:
    import_file(factory, write("inv.yaml", YAML), "t")
    result = run("inventory", "export", str(tmp_path / "out.csv"))
    assert result.exit_code == 0
    assert "2 components are not in a CSV file" in result.stderr
    assert "export-components" in result.stderr
    plain = f"{HEADER}\nweb3,10.0.0.3,w3.kota.go.id,Dinas A\n"
    assert import_file(factory, write("plain.csv", plain), "t").components is None
