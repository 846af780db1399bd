"""Issue 11, 3: small edits without a spreadsheet (set, rename, remove; OPDs, sites and racks
renamed and merged): checked by the import's rules, all or nothing, audited, and the rows
still as the audit log says (`audit verify --state`); on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy.orm import Session, sessionmaker

from pelihara.collector.models import VerifyFinding, VerifyRun
from pelihara.inventory import audit
from pelihara.inventory.db import transaction
from pelihara.inventory.importer import import_file
from pelihara.inventory.models import HostKey, Opd, Rack, Site
from pelihara.inventory.queries import find_server, list_records
from pelihara.inventory.records import Record
from tests.inventory.conftest import HEADER

Factory = sessionmaker[Session]
Run = Callable[..., Result]
Write = Callable[..., Path]

FLEET = f"{HEADER},site,rack,rack_unit,serial\n" + "".join(
    f"web{i},10.0.0.{i},w{i}.kota.go.id,Dinas Kesehatan,DC Utama,R0{1 + i % 2},{i},SN{i}\n"
    for i in range(1, 5)
)  # web1, web3 in R02; web2, web4 in R01


@pytest.fixture
def fleet(factory: Factory, write: Write) -> Factory:
    import_file(factory, write("fleet.csv", FLEET), "setup")
    return factory


def _records(factory: Factory) -> dict[str, Record]:
    with transaction(factory, commit=False) as session:
        return {record["hostname"]: record for record in list_records(session)}


def _entries(factory: Factory) -> int:
    with transaction(factory, commit=False) as session:
        return audit.count(session)


def _state_clean(run: Run) -> None:
    result = run("audit", "verify", "--state")
    assert result.exit_code == 0, result.stdout + result.stderr


def _trust(factory: Factory, hostname: str) -> None:
    with transaction(factory) as session:
        server = find_server(session, hostname)
        server.host_keys.append(HostKey(key_type="ssh-ed25519", fingerprint_sha256="SHA256:k"))
        after = {"key_type": "ssh-ed25519", "fingerprint_sha256": "SHA256:k"}
        audit.AuditLog(session, "t").append("trust", "host_key", hostname, None, after)


# --- set --------------------------------------------------------------------------------


def test_set_changes_the_fields_given_and_audits_them(fleet: Factory, run: Run) -> None:
    result = run(
        "inventory",
        "set",
        "web1",
        "status=maintenance",
        "notes=RAM ditambah",
        "memory_gb=15,5",
        "serial=",
    )
    assert result.exit_code == 0, result.stderr
    assert "web1: status 'active' -> 'maintenance'" in result.stdout
    record = _records(fleet)["web1"]
    assert (record["status"], record["notes"], record["memory_gb"]) == (
        "maintenance",
        "RAM ditambah",
        15.5,
    )
    assert record["serial"] is None and record["rack"] == "R02"
    with transaction(fleet, commit=False) as session:
        (entry,) = audit.recent(session, 1)
    assert (entry.action, entry.entity_key, entry.actor) == ("update", "web1", "tester")
    assert entry.before and entry.before["status"] == "active"
    assert entry.after and entry.after["status"] == "maintenance"
    assert run("inventory", "set", "10.0.0.1", "status=maintenance").stdout == "web1: unchanged\n"
    _state_clean(run)


def test_set_is_checked_by_the_import_rules_and_all_or_nothing(fleet: Factory, run: Run) -> None:
    before = _entries(fleet)
    result = run(
        "inventory",
        "set",
        "web1",
        "status=maintenance",
        "memory_gb=1.024",
        "ip=10.0.0.2",
        "rack_unit=3",
        "domain=",
        "colour=red",
        "hostname=x",
        "ssh_host=10.0.0.300",
    )
    assert result.exit_code == 3
    for line in (
        "web1 [memory_gb]: '1.024' is ambiguous (is '.' a thousands separator or the decimal "
        "sign?): write 1024 or 1.0240",
        "web1 [ip]: 10.0.0.2 already belongs to server web2 in the database",
        "web1 [rack_unit]: unit 3 of rack DC Utama/R02 is already taken by server web3 in the "
        "database",
        "web1 [domain]: required value is missing",
        "web1 [colour]: unknown column",
        "web1 [hostname]: use `pelihara inventory rename HOST NEW`",
        "web1 [ssh_host]: '10.0.0.300' is not a valid domain name",
    ):
        assert f"error: {line}" in result.stderr, result.stderr
    assert "problems found; nothing was changed" in result.stderr
    assert _records(fleet)["web1"]["status"] == "active" and _entries(fleet) == before


def test_set_of_an_unknown_server_names_the_close_ones(fleet: Factory, run: Run) -> None:
    result = run("inventory", "set", "web11", "status=maintenance")
    assert result.exit_code == 7
    assert "no server 'web11' in the inventory (did you mean web1" in result.stderr
    assert run("inventory", "set", "web1").exit_code == 3  # nothing to set


def test_set_a_new_opd_close_to_another_warns_or_is_refused(fleet: Factory, run: Run) -> None:
    strict = run("inventory", "set", "web1", "opd=Dinas Kesehatn", "--strict")
    assert strict.exit_code == 3 and "close to 'Dinas Kesehatan'" in strict.stderr
    result = run("inventory", "set", "web1", "opd=Dinas Kesehatn")
    assert result.exit_code == 0 and "warning: web1 [opd]: new OPD" in result.stderr
    assert "new OPD: Dinas Kesehatn" in result.stdout
    assert run("inventory", "set", "web2", "opd=  dinas KESEHATN").exit_code == 0
    assert _records(fleet)["web2"]["opd"] == "Dinas Kesehatn"
    _state_clean(run)


# --- rename and remove ------------------------------------------------------------------


def test_rename_keeps_addresses_keys_and_history(fleet: Factory, run: Run) -> None:
    _trust(fleet, "web1")
    assert run("inventory", "rename", "web1", "WEB2").exit_code == 3  # taken
    assert run("inventory", "rename", "web1", "bad_name").exit_code == 3
    result = run("inventory", "rename", "web1", "Simpus01")
    assert result.exit_code == 0 and "web1: renamed to simpus01" in result.stdout
    with transaction(fleet, commit=False) as session:
        server = find_server(session, "10.0.0.1")
        assert server.hostname == "simpus01" and len(server.host_keys) == 1
        (entry,) = audit.recent(session, 1, key="web1")
    assert entry.action == "rename" and entry.after and entry.after["hostname"] == "simpus01"
    _state_clean(run)


def test_remove_is_refused_while_verify_runs_name_the_server(fleet: Factory, run: Run) -> None:
    with transaction(fleet) as session:
        verify_run = VerifyRun(actor="t", probes="ssh", hosts_total=1)
        verify_run.findings.append(
            VerifyFinding(host="web1", check="ip", source="ssh", status="ok", severity="info")
        )
        session.add(verify_run)
    refused = run("inventory", "remove", "web1")
    assert refused.exit_code == 3
    assert "web1: refused: verify run 1 name(s) it" in refused.stderr
    assert "--withdrawn" in refused.stderr and "web1" in _records(fleet)
    withdrawn = run("inventory", "remove", "web1", "--withdrawn")
    assert withdrawn.exit_code == 0 and "status 'active' -> 'withdrawn'" in withdrawn.stdout
    assert _records(fleet)["web1"]["status"] == "withdrawn"
    assert run("inventory", "remove", "web1", "--withdrawn").exit_code == 3  # already
    _state_clean(run)


def test_remove_takes_the_server_its_addresses_and_keys(fleet: Factory, run: Run) -> None:
    _trust(fleet, "web2")
    result = run("inventory", "remove", "web2")
    assert result.exit_code == 0 and result.stdout == "web2: removed\n"
    assert "web2" not in _records(fleet)
    with transaction(fleet, commit=False) as session:
        assert [(e.action, e.entity) for e in audit.recent(session, 2)] == [
            ("remove", "server"),
            ("remove", "host_key"),
        ]
    assert run("inventory", "remove", "web2").exit_code == 7
    # the address is free again
    assert run("inventory", "set", "web1", "ip=10.0.0.1 10.0.0.2").exit_code == 0
    _state_clean(run)


# --- OPDs, sites, racks -----------------------------------------------------------------


def test_opd_rename_and_merge(fleet: Factory, run: Run, write: Write) -> None:
    import_file(fleet, write("b.csv", f"{HEADER}\nweb9,10.0.0.9,w9.kota.go.id,Dinkes\n"), "t")
    taken = run("inventory", "opd", "rename", "dinkes", "DINAS kesehatan")
    assert taken.exit_code == 3 and "merge into it" in taken.stderr
    result = run("inventory", "opd", "rename", "dinas  kesehatan", "Dinas Kesehatan Kota")
    assert result.exit_code == 0, result.stderr
    assert "OPD 'Dinas Kesehatan' renamed to 'Dinas Kesehatan Kota' (4 servers updated)" in (
        result.stdout
    )
    merged = run("inventory", "opd", "merge", "Dinkes", "dinas kesehatan kota")
    assert merged.exit_code == 0, merged.stderr
    assert "OPD 'Dinkes' merged into 'Dinas Kesehatan Kota' (1 server updated)" in merged.stdout
    assert {r["opd"] for r in _records(fleet).values()} == {"Dinas Kesehatan Kota"}
    with transaction(fleet, commit=False) as session:
        assert [o.name for o in session.query(Opd)] == ["Dinas Kesehatan Kota"]
    missing = run("inventory", "opd", "merge", "Dinas Kesehatn Kota", "Dinkes")
    assert missing.exit_code == 7 and "did you mean 'Dinas Kesehatan Kota'" in missing.stderr
    _state_clean(run)


def test_site_rename_takes_its_racks_along(fleet: Factory, run: Run) -> None:
    result = run("inventory", "site", "rename", "DC Utama", "DC Utama Balai Kota")
    assert result.exit_code == 0 and "(4 servers updated)" in result.stdout
    record = _records(fleet)["web1"]
    assert (record["site"], record["rack"]) == ("DC Utama Balai Kota", "R02")
    _state_clean(run)


def test_site_merge_moves_racks_and_refuses_shared_units(
    fleet: Factory, run: Run, write: Write
) -> None:
    other = f"{HEADER},site,rack,rack_unit\n"
    other += "drc1,10.1.0.1,d1.kota.go.id,Dinas Kesehatan,DRC,R01,2\n"  # unit 2 of R01: web2's
    other += "drc2,10.1.0.2,d2.kota.go.id,Dinas Kesehatan,DRC,R09,1\n"
    import_file(fleet, write("drc.csv", other), "t")
    clash = run("inventory", "site", "merge", "DRC", "DC Utama")
    assert clash.exit_code == 3
    assert "DC Utama/R01 [rack_unit]: unit 2 would be held by both web2 and drc1" in clash.stderr
    assert run("inventory", "set", "drc1", "rack_unit=20").exit_code == 0
    result = run("inventory", "site", "merge", "drc", "dc utama")
    assert result.exit_code == 0, result.stderr
    records = _records(fleet)
    assert (records["drc1"]["site"], records["drc1"]["rack"]) == ("DC Utama", "R01")
    assert (records["drc2"]["site"], records["drc2"]["rack"]) == ("DC Utama", "R09")
    with transaction(fleet, commit=False) as session:
        assert [s.name for s in session.query(Site)] == ["DC Utama"]
        assert sorted(r.name for r in session.query(Rack)) == ["R01", "R02", "R09"]
    _state_clean(run)


def test_rack_rename_and_merge_within_a_site(fleet: Factory, run: Run, write: Write) -> None:
    import_file(
        fleet, write("b.csv", f"{HEADER},site,rack\nx1,10.2.0.1,x.kota.go.id,D,DRC,R01\n"), "t"
    )
    ambiguous = run("inventory", "rack", "rename", "r01", "R1")
    assert ambiguous.exit_code == 3 and "give --site" in ambiguous.stderr
    result = run("inventory", "rack", "rename", "r01", "R10", "--site", "DRC")
    assert result.exit_code == 0 and "rack 'DRC/R01' renamed to 'DRC/R10'" in result.stdout
    clash = run("inventory", "rack", "merge", "R02", "R01", "--site", "dc utama")
    assert clash.exit_code == 0, clash.stderr  # units 1, 3 into 2, 4: no clash
    records = _records(fleet)
    assert {r["rack"] for h, r in records.items() if h.startswith("web")} == {"R01"}
    assert run("inventory", "set", "x1", "site=DC Utama", "rack=R01", "rack_unit=4").exit_code == 3
    _state_clean(run)
