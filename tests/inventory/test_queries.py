"""Listing and finding servers; listing costs a fixed number of SQL queries."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pelihara.inventory.db import transaction
from pelihara.inventory.importer import import_file
from pelihara.inventory.queries import ServerFilter, list_records
from tests.inventory.conftest import EXAMPLE, HEADER
from tests.statements import counting

Factory = sessionmaker[Session]


def _fleet(count: int) -> str:
    rows = [f"h{i},10.1.{i // 250}.{i % 250} 10.2.{i // 250}.{i % 250},h{i}.kota.go.id,OPD {i % 7},"
            f"Site {i % 3},R{i // 40},{i % 40 + 1}" for i in range(count)]  # fmt: skip
    return f"{HEADER},site,rack,rack_unit\n" + "\n".join(rows) + "\n"


def test_listing_costs_two_queries_whatever_the_count(
    factory: Factory, engine: Engine, write: Callable[..., Path]
) -> None:
    counts = []
    for size in (5, 400):
        import_file(factory, write(f"f{size}.csv", _fleet(size)), "t")
        with transaction(factory, commit=False) as session, counting(engine) as statements:
            records = list(list_records(session))
        counts.append(len(statements))
        assert len(records) == size
    assert counts == [2, 2]


def test_filters_are_case_insensitive_parts_of_names(factory: Factory) -> None:
    import_file(factory, EXAMPLE, "tester")
    with transaction(factory, commit=False) as session:
        health = list(list_records(session, ServerFilter(opd="kesehatan")))
        drc = list(list_records(session, ServerFilter(site="drc")))
        both = list(list_records(session, ServerFilter(opd="KESEHATAN", site="DRC")))
    assert health and {r["opd"] for r in health} == {"Dinas Kesehatan"}
    assert drc and {r["site"] for r in drc} == {"DRC Kantor Walikota"}
    assert both == [r for r in health if r["site"] == "DRC Kantor Walikota"]


def test_show_by_hostname_domain_or_address_and_unknown(
    run: Callable[..., Result],
) -> None:
    run("inventory", "import", str(EXAMPLE))
    for key in ("dinkes-db01", "DB.SIMPUS.dinkes.kotacontoh.go.id.", "10.20.250.14"):
        document = json.loads(run("inventory", "show", key, "--format", "json").output)
        assert document["hostname"] == "dinkes-db01"
        assert document["components"] == [] and document["host_keys"] == []
    missing = run("inventory", "show", "10.9.9.9")
    assert missing.exit_code == 7 and "no server '10.9.9.9'" in missing.stderr


def test_list_formats(run: Callable[..., Result]) -> None:
    run("inventory", "import", str(EXAMPLE))
    as_json = json.loads(run("inventory", "list", "--format", "json", "--opd", "sosial").output)
    assert as_json and all(r["opd"] == "Dinas Sosial" for r in as_json)
    as_csv = run("inventory", "list", "--format", "csv").output.splitlines()
    assert as_csv[0].startswith("hostname,ip,domain,opd") and len(as_csv) == 51
    table = run("inventory", "list", "--site", "DRC").output
    assert "drc-dinkes-db01" in table and "dinkes-web01 " not in table
