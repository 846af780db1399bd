"""Issue 11, 5: components imported from a CSV keyed by hostname, all or nothing, audited
(`audit verify --state` clean), and listed by `inventory show`; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pelihara import migrations
from pelihara.core.errors import InputError
from pelihara.inventory import audit
from pelihara.inventory.audit_state import state_differences
from pelihara.inventory.components import import_components
from pelihara.inventory.db import make_engine, session_factory, transaction
from pelihara.inventory.importer import import_file
from pelihara.inventory.models import AuditEntry, Component
from tests.inventory.conftest import HEADER

Factory = sessionmaker[Session]
Run = Callable[..., Result]
Write = Callable[..., Path]

FLEET = f"{HEADER},serial\n" + "".join(
    f"web{i},10.0.0.{i},w{i}.kota.go.id,Dinas Kesehatan,SN{i}\n" for i in range(1, 3)
)
PARTS = (
    "hostname,kind,model,serial,status\n"
    "web1,disk,ST4000NM,D1,installed\n"
    "web1,PSU,DPS-750,P1,\n"
    "web2,nic,X710,N2,withdrawn\n"
)


@pytest.fixture
def fleet(factory: Factory, write: Write) -> Factory:
    import_file(factory, write("fleet.csv", FLEET), "setup")
    return factory


def _components(factory: Factory) -> list[tuple[str, str, str | None, str | None, str]]:
    with transaction(factory, commit=False) as session:
        stmt = select(Component).order_by(Component.serial)
        return [(c.server.hostname, c.kind, c.model, c.serial, c.status)
                for c in session.scalars(stmt)]  # fmt: skip


def _problems(factory: Factory, path: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        import_components(factory, path, "t")
    return [str(problem) for problem in caught.value.problems]


def test_imported_and_audited(fleet: Factory, write: Write, run: Run) -> None:
    summary = import_components(fleet, write("parts.csv", PARTS), "t")
    assert (summary.counts.created, summary.counts.updated) == (3, 0)
    assert _components(fleet) == [
        ("web1", "disk", "ST4000NM", "D1", "installed"),
        ("web2", "nic", "X710", "N2", "withdrawn"),
        ("web1", "psu", "DPS-750", "P1", "installed"),
    ]
    with transaction(fleet, commit=False) as session:
        stmt = select(AuditEntry.entity_key).where(AuditEntry.entity == "component")
        assert sorted(session.scalars(stmt)) == ["D1", "N2", "P1"]
    result = run("audit", "verify", "--state")
    assert result.exit_code == 0, result.stdout + result.stderr


def test_again_updates_by_serial(fleet: Factory, write: Write, run: Run) -> None:
    import_components(fleet, write("parts.csv", PARTS), "t")
    again = "hostname,kind,serial,status\nweb1,disk,D1,withdrawn\nweb1,psu,P1,installed\n"
    summary = import_components(fleet, write("again.csv", again), "t")
    assert (summary.counts.created, summary.counts.updated, summary.counts.unchanged) == (0, 1, 1)
    assert _components(fleet)[0] == ("web1", "disk", "ST4000NM", "D1", "withdrawn")
    assert run("audit", "verify", "--state").exit_code == 0


def test_indonesian_headers_and_values(fleet: Factory, write: Write) -> None:
    text = (
        "No;Nama Host;Jenis;Tipe;Nomor Seri;Posisi;Status\n"
        "1;web2;Memori;M393A4K40;M2;DIMM A1;terpasang\n"
        "2;web2;Catu Daya;DPS-750;P2;PSU2;Ditarik\n"
    )
    import_components(fleet, write("komponen.csv", text), "t")
    assert _components(fleet) == [
        ("web2", "memory", "M393A4K40", "M2", "installed"),
        ("web2", "psu", "DPS-750", "P2", "withdrawn"),
    ]
    with transaction(fleet, commit=False) as session:
        assert session.scalar(select(Component.slot).where(Component.serial == "M2")) == "DIMM A1"


def test_an_unknown_column_is_refused_not_dropped(fleet: Factory, write: Write) -> None:
    path = write("parts.csv", "hostname,kind,serial,colour\nweb1,disk,D9,red\n")
    assert _problems(fleet, path) == [
        f"{path}:1 [colour]: unknown column (known columns: "
        "hostname, kind, model, serial, slot, status)"
    ]


def test_every_problem_and_nothing_written(fleet: Factory, write: Write) -> None:
    import_components(fleet, write("parts.csv", PARTS), "t")
    before = audit_count(fleet)
    bad = (
        "hostname,kind,serial,status\n"
        "web9,disk,X1,installed\n"  # unknown host
        "web1,fan,X2,installed\n"  # unknown kind
        "web1,disk,X3,broken\n"  # unknown status
        "web1,disk,X4,\n"
        "web2,disk,X4,\n"  # twice in the file
        "web2,disk,D1,\n"  # web1's disk
        "web2,disk,,\n"  # no serial
    )
    path = write("bad.csv", bad)
    assert _problems(fleet, path) == [
        f"{path}:2 [hostname]: no server web9 in the inventory",
        f"{path}:3 [kind]: unknown kind 'fan'; use one of cpu, disk, memory, nic, other, psu",
        f"{path}:4 [status]: unknown status 'broken'; use one of installed, withdrawn",
        f"{path}:6 [serial]: serial X4 is also on line 5",
        f"{path}:7 [serial]: serial D1 is a component of web1",
        f"{path}:8 [serial]: required value is missing",
    ]
    assert audit_count(fleet) == before
    assert len(_components(fleet)) == 3


def test_required_columns(fleet: Factory, write: Write) -> None:
    path = write("parts.csv", "hostname,model\nweb1,X\n")
    assert _problems(fleet, path) == [
        f"{path}:1 [kind]: required column is missing",
        f"{path}:1 [serial]: required column is missing",
    ]


def audit_count(factory: Factory) -> int:
    with transaction(factory, commit=False) as session:
        return audit.count(session)


def test_cli_and_show(fleet: Factory, write: Write, run: Run) -> None:
    result = run("inventory", "import-components", str(write("parts.csv", PARTS)))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "imported 3 new components" in result.stdout
    shown = run("inventory", "show", "web1", "--format", "json")
    parts = json.loads(shown.stdout)["components"]
    assert [(c["kind"], c["serial"]) for c in parts] == [("disk", "D1"), ("psu", "P1")]
    table = run("inventory", "show", "web1")
    assert "components" in table.stdout and "DPS-750" in table.stdout
    refused = run(
        "inventory", "import-components", str(write("x.csv", "hostname,kind,serial\nnope,disk,Z\n"))
    )
    assert refused.exit_code == 3
    assert "no server nope" in refused.stderr


def test_state_clean_after_server_rename(fleet: Factory, write: Write, run: Run) -> None:
    import_components(fleet, write("parts.csv", PARTS), "t")
    assert run("inventory", "rename", "web1", "web1b").exit_code == 0
    result = run("audit", "verify", "--state")
    assert result.exit_code == 0, result.stdout + result.stderr
    refused = run("inventory", "remove", "web2")  # its components name it: withdraw instead
    assert refused.exit_code == 3 and "component record(s)" in refused.stderr
    result = run("audit", "verify", "--state")
    assert result.exit_code == 0, result.stdout + result.stderr


def test_export_round_trip(fleet: Factory, write: Write, run: Run, tmp_path: Path) -> None:
    import_components(fleet, write("parts.csv", PARTS), "t")
    servers, parts = tmp_path / "out.csv", tmp_path / "out-components.csv"
    assert run("inventory", "export", str(servers)).exit_code == 0
    result = run("inventory", "export-components", str(parts))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert run("inventory", "export-components", str(parts)).exit_code != 0  # no overwrite
    expected = _components(fleet)
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # an empty database
    migrations.upgrade(engine)
    empty = session_factory(engine)
    import_file(empty, servers, "t")
    import_components(empty, parts, "t")
    assert _components(empty) == expected
    with transaction(empty, commit=False) as session:
        assert state_differences(session) == []
    engine.dispose()
