"""Issue 11, 1-3: numbers and types, every problem in one run, partial updates; on SQLite and
PostgreSQL. The files are synthetic, written by each test."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from openpyxl import Workbook
from sqlalchemy.orm import Session, sessionmaker

from pelihara.core.errors import InputError, Problem
from pelihara.inventory import audit
from pelihara.inventory.db import transaction
from pelihara.inventory.importer import import_file
from pelihara.inventory.queries import list_records
from pelihara.inventory.records import Record
from tests.inventory.conftest import HEADER

Factory = sessionmaker[Session]
Write = Callable[..., Path]
Run = Callable[..., Result]


def _rejected(factory: Factory, path: Path, **options: bool) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        import_file(factory, path, "tester", **options)
    return caught.value.problems


def _where(problems: list[Problem]) -> set[tuple[int, str]]:
    return {(p.line, p.column) for p in problems}


def _records(factory: Factory) -> dict[str, Record]:
    with transaction(factory, commit=False) as session:
        return {record["hostname"]: record for record in list_records(session)}


# --- 1. numbers -----------------------------------------------------------------------


def test_a_file_with_decimal_commas_reads_1920_as_thousands(factory: Factory, write: Write) -> None:
    text = (
        f"{HEADER};memory_gb;disk_gb\n".replace(",", ";")
        + "web1;10.0.0.1;w1.kota.go.id;D;15,5;1.920\n"
        + "web2;10.0.0.2;w2.kota.go.id;D;1.024;2.000\n"
    )
    import_file(factory, write("comma.csv", text), "t")
    records = _records(factory)
    assert records["web1"]["disk_gb"] == 1920 and records["web1"]["memory_gb"] == 15.5
    assert (records["web2"]["memory_gb"], records["web2"]["disk_gb"]) == (1024, 2000)


def test_a_file_with_decimal_points_reads_1_920_as_a_fraction(
    factory: Factory, write: Write
) -> None:
    text = f'{HEADER},memory_gb,disk_gb\nweb1,10.0.0.1,w1.kota.go.id,D,0.5,"1,920"\n'
    text += "web2,10.0.0.2,w2.kota.go.id,D,1.920,1\n"
    import_file(factory, write("point.csv", text), "t")
    records = _records(factory)
    assert records["web1"]["disk_gb"] == 1920 and records["web2"]["memory_gb"] == 1.92


@pytest.mark.parametrize("other", ["64", "15,5;2.5"], ids=["no other decimals", "both conventions"])
def test_1_920_is_refused_when_the_file_does_not_settle_it(
    factory: Factory, write: Write, other: str
) -> None:
    first, _, second = other.partition(";")
    text = "hostname;ip;domain;opd;memory_gb;disk_gb\n"
    text += f"web1;10.0.0.1;w1.kota.go.id;D;{first};1.920\n"
    if second:
        text += f"web2;10.0.0.2;w2.kota.go.id;D;{second};1\n"
    (problem,) = _rejected(factory, write("unsure.csv", text))
    assert (problem.line, problem.column) == (2, "disk_gb")
    assert "'1.920' is ambiguous" in problem.message and "write 1920 or 1.92" in problem.message


def test_an_xlsx_number_cell_is_never_ambiguous(factory: Factory, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["hostname", "ip", "domain", "opd", "memory_gb", "disk_gb"])
    sheet.append(["web1", "10.0.0.1", "w1.kota.go.id", "D", 1.024, "1.920"])  # a number, text
    workbook.save(tmp_path / "inv.xlsx")
    (problem,) = _rejected(factory, tmp_path / "inv.xlsx")
    assert (problem.line, problem.column) == (2, "disk_gb")  # the text cell only
    sheet["F2"] = 1920
    workbook.save(tmp_path / "inv.xlsx")
    import_file(factory, tmp_path / "inv.xlsx", "t")
    assert _records(factory)["web1"]["memory_gb"] == 1.024


def test_inf_nan_and_1e400_are_not_numbers_and_no_traceback(run: Run, write: Write) -> None:
    text = f"{HEADER},cpu_cores,memory_gb,disk_gb\n"
    text += "web1,10.0.0.1,w1.kota.go.id,D,1e400,nan,inf\n"
    result = run("inventory", "import", str(write("inf.csv", text)))
    assert result.exit_code == 3
    for column, cell in (("cpu_cores", "1e400"), ("memory_gb", "nan"), ("disk_gb", "inf")):
        assert f"inf.csv:2 [{column}]: '{cell}' is not a number" in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_an_address_out_of_range_is_not_a_domain(factory: Factory, write: Write) -> None:
    text = f"{HEADER},ssh_host\nweb1,10.0.0.1,w1.kota.go.id,D,10.0.0.300\n"
    text += "web2,10.0.0.2,10.0.0.256,D,\n"
    problems = _rejected(factory, write("ssh.csv", text))
    assert _where(problems) == {(2, "ssh_host"), (3, "domain")}
    assert all("last label is a number" in p.message for p in problems)


# --- 1. YAML --------------------------------------------------------------------------

GOOD_ITEM = "- hostname: web1\n  ip: 10.0.0.1\n  domain: w1.kota.go.id\n  opd: D\n"


def test_yaml_structure_where_a_value_belongs_is_refused_at_its_line(
    factory: Factory, write: Write
) -> None:
    text = (
        "- hostname: web1\n"  # 1
        "  ip: [10.0.0.1, 10.0.0.2]\n"  # 2: a list is fine here
        "  domain: w1.kota.go.id\n"  # 3
        "  opd: {name: Dinas Kesehatan}\n"  # 4
        "  memory_gb: [32]\n"  # 5
        "  notes:\n"  # 6
        "    - a\n"  # 7
        "- just a text\n"  # 8
        "- [a, list]\n"  # 9
    )
    problems = _rejected(factory, write("shape.yaml", text))
    where = _where(problems)
    assert {(4, "opd"), (5, "memory_gb"), (7, "notes"), (8, ""), (9, "")} <= where
    messages = {(p.line, p.column): p.message for p in problems}
    assert "a mapping where one value belongs" in messages[(4, "opd")]
    assert "a list where one value belongs" in messages[(5, "memory_gb")]
    assert (
        messages[(8, "")] == "server 2 is the value 'just a text', not a mapping of column: value"
    )
    assert "server 3 is a list" in messages[(9, "")]
    assert not any("\0" in p.message or "{" in p.message for p in problems)


def test_yaml_values_are_reported_as_written(factory: Factory, write: Write) -> None:
    text = GOOD_ITEM + "  status: on\n  cpu_cores: 0x10\n  memory_gb: .inf\n  ssh_port: no\n"
    messages = {p.column: p.message for p in _rejected(factory, write("as.yaml", text))}
    assert messages["status"].startswith("'on' is not one of: active, maintenance, withdrawn")
    assert messages["cpu_cores"] == "'0x10' is not a number"
    assert messages["memory_gb"] == "'.inf' is not a number"
    assert messages["ssh_port"] == "'no' is not a number"


def test_yaml_numbers_follow_the_file_convention_too(factory: Factory, write: Write) -> None:
    text = GOOD_ITEM + "  memory_gb: 1.024\n  disk_gb: '15,5'\n"
    import_file(factory, write("n.yaml", text), "t")
    assert _records(factory)["web1"]["memory_gb"] == 1024


def test_yaml_syntax_error_names_the_file_and_line(run: Run, write: Write) -> None:
    path = write("broken.yaml", GOOD_ITEM + "  notes: [unclosed\n")
    result = run("inventory", "import", str(path))
    assert result.exit_code == 3
    assert f"{path}:6: not valid YAML:" in result.stderr
    assert "<unicode string>" not in result.stderr


def test_yaml_aliases_are_refused_before_they_expand(factory: Factory, write: Write) -> None:
    laughs = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        laughs += f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]\n"
    laughs += "servers:\n  - hostname: web1\n    notes: *i\n"
    assert len(laughs.encode()) < 600
    started = time.monotonic()
    (problem,) = _rejected(factory, write("laughs.yaml", laughs))
    assert time.monotonic() - started < 2
    assert problem.line == 1 and "anchors (&name) are not accepted" in problem.message
    alias = GOOD_ITEM + "- hostname: web2\n  notes: *x\n"
    (problem,) = _rejected(factory, write("alias.yaml", alias))
    assert "aliases (*name) are not accepted" in problem.message or "not valid YAML" in (
        problem.message
    )


def test_yaml_key_twice_is_refused(factory: Factory, write: Write) -> None:
    (problem,) = _rejected(factory, write("twice.yaml", GOOD_ITEM + "  opd: E\n"))
    assert (problem.line, problem.column) == (5, "opd")
    assert problem.message == "column appears twice (also on line 4)"


# --- 2. every problem in one run ------------------------------------------------------


def test_database_problems_come_with_the_files_own(factory: Factory, write: Write) -> None:
    first = f"{HEADER},serial,asset_tag,site,rack,rack_unit\n"
    first += "web1,10.0.0.1,w1.kota.go.id,D,SN1,AT1,DC1,R1,5\n"
    import_file(factory, write("a.csv", first), "t")
    second = f"{HEADER},serial,asset_tag,site,rack,rack_unit\n"
    second += "web2,10.0.0.1,w2.kota.go.id,D,SN1,AT1,dc1,r1,5\n"  # all held by web1
    second += "web3,10.0.0.3,bad_domain,D,,,,,\n"  # the file's own problem
    problems = _rejected(factory, write("b.csv", second))
    assert _where(problems) == {
        (2, "ip"),
        (2, "serial"),
        (2, "asset_tag"),
        (2, "rack_unit"),
        (3, "domain"),
    }
    messages = {p.column: p.message for p in problems}
    assert (
        messages["rack_unit"]
        == "unit 5 of rack DC1/R1 is already taken by server web1 in the database"
    )
    assert messages["serial"] == "SN1 already belongs to server web1 in the database"


def test_a_unit_freed_in_the_same_file_may_be_taken(factory: Factory, write: Write) -> None:
    first = f"{HEADER},site,rack,rack_unit\nweb1,10.0.0.1,w1.kota.go.id,D,DC1,R1,5\n"
    import_file(factory, write("a.csv", first), "t")
    moved = "hostname,rack_unit\nweb1,6\n"
    import_file(factory, write("b.csv", moved), "t")
    assert _records(factory)["web1"]["rack"] == "R1"
    swap = f"{HEADER},site,rack,rack_unit\nweb2,10.0.0.2,w2.kota.go.id,D,DC1,R1,6\n"
    (problem,) = _rejected(factory, write("c.csv", swap))
    assert "taken by server web1" in problem.message
    swap += "web1,10.0.0.1,w1.kota.go.id,D,DC1,R1,7\n"
    assert import_file(factory, write("d.csv", swap), "t").created == 1


def test_a_value_kept_by_a_row_is_not_free(factory: Factory, write: Write) -> None:
    import_file(factory, write("a.csv", f"{HEADER}\nweb1,10.0.0.1,w1.kota.go.id,D\n"), "t")
    new = "- hostname: web2\n  ip: 10.0.0.1\n  domain: w2.kota.go.id\n  opd: D\n"
    (problem,) = _rejected(factory, write("b.yaml", new))
    assert problem.message == "10.0.0.1 already belongs to server web1 in the database"
    keeps = new + "- hostname: web1\n  notes: keeps its address\n"  # line 5
    (problem,) = _rejected(factory, write("c.yaml", keeps))
    assert (problem.line, problem.column) == (1, "ip")
    assert problem.message == (
        "10.0.0.1 already belongs to server web1 (line 5 leaves its ip as it is)"
    )
    gives = new + "- hostname: web1\n  ip: 10.0.0.9\n"
    assert import_file(factory, write("d.yaml", gives), "t").created == 1
    assert _records(factory)["web1"]["ip"] == ["10.0.0.9"]


def test_more_than_100_problems_print_the_first_100_and_a_count(run: Run, write: Write) -> None:
    rows = "".join(f"web{i},10.0.0.{i},bad_domain,D\n" for i in range(1, 151))
    result = run("inventory", "import", str(write("many.csv", f"{HEADER}\n{rows}")))
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    assert sum("[domain]: 'bad_domain' is not a valid domain" in line for line in lines) == 100
    assert "error: ... and 50 more problems" in lines
    assert lines[-1] == "error: 150 problems found (the first 100 shown); nothing was imported"


# --- 3. partial updates ---------------------------------------------------------------

PLACED = f"{HEADER},site,rack,rack_unit,os\n" + "".join(
    f"web{i},10.0.0.{i},w{i}.kota.go.id,Dinas Kesehatan,DC Utama,R01,{i},Debian 12\n"
    for i in range(1, 4)
)


def test_hostname_and_status_only_updates_existing_servers(factory: Factory, write: Write) -> None:
    import_file(factory, write("a.csv", PLACED), "t")
    summary = import_file(
        factory, write("b.csv", "hostname,status\nweb1,maintenance\nWEB2,maintenance\n"), "alice"
    )
    assert (summary.created, summary.updated, summary.unchanged) == (0, 2, 0)
    records = _records(factory)
    assert records["web1"]["status"] == records["web2"]["status"] == "maintenance"
    assert records["web3"]["status"] == "active"
    assert records["web1"]["ip"] == ["10.0.0.1"] and records["web1"]["rack_unit"] == 1
    with transaction(factory, commit=False) as session:
        entry = audit.recent(session, 1)[0]
        assert entry.before and entry.after
        changed = {k for k in entry.after if entry.after[k] != entry.before[k]}
        assert changed == {"status"}


def test_required_columns_are_required_for_new_servers_only(factory: Factory, write: Write) -> None:
    import_file(factory, write("a.csv", PLACED), "t")
    text = "hostname,status\nweb1,maintenance\nweb9,active\nweb8,\n"
    problems = _rejected(factory, write("b.csv", text))
    assert _where(problems) == {(1, "ip"), (1, "domain"), (1, "opd")}
    assert problems[0].message == (
        "required column is missing: new servers need it (web9 on line 3, and 1 more)"
    )
    cleared = "hostname,domain\nweb1,\n"  # an empty required cell: never, new or not
    (problem,) = _rejected(factory, write("c.csv", cleared))
    assert (problem.line, problem.column, problem.message) == (
        2,
        "domain",
        "required value is missing",
    )


def test_a_site_column_without_rack_keeps_the_rack(factory: Factory, write: Write) -> None:
    import_file(factory, write("a.csv", PLACED), "t")
    import_file(factory, write("b.csv", "hostname,site\nweb1,dc  utama\n"), "t")
    record = _records(factory)["web1"]
    assert (record["site"], record["rack"], record["rack_unit"]) == ("DC Utama", "R01", 1)
    (problem,) = _rejected(factory, write("c.csv", "hostname,site\nweb1,DRC\n"))
    assert (problem.line, problem.column) == (2, "rack")
    assert "moves to site DRC but its rack R01 is in DC Utama" in problem.message
    import_file(factory, write("d.csv", "hostname,site,rack\nweb1,DRC,R9\n"), "t")
    record = _records(factory)["web1"]
    assert (record["site"], record["rack"], record["rack_unit"]) == ("DRC", "R9", 1)
    (problem,) = _rejected(factory, write("e.csv", "hostname,rack\nweb2,\n"))
    assert (problem.column, problem.message) == (
        "rack",
        "a rack unit needs its rack: clear its unit 2 too",
    )


def test_rows_shorter_than_the_header_are_refused(factory: Factory, write: Write) -> None:
    text = f"{HEADER},notes\nweb1,10.0.0.1,w1.kota.go.id,D\nweb2,10.0.0.2,w2.kota.go.id,D,x,y\n"
    problems = _rejected(factory, write("short.csv", text))
    assert {(p.line, p.message) for p in problems} == {
        (2, "4 cells but the header has 5"),
        (3, "6 cells but the header has 5"),
    }


def test_the_summary_names_what_it_creates_and_names_ignore_case_and_spaces(
    factory: Factory, write: Write
) -> None:
    summary = import_file(factory, write("a.csv", PLACED), "t")
    assert summary.new_opds == ("Dinas Kesehatan",) and summary.new_sites == ("DC Utama",)
    assert summary.new_racks == ("DC Utama/R01",)
    text = f"{HEADER},site,rack\nweb4,10.0.0.4,w4.kota.go.id,  dinas   KESEHATAN ,dc utama,r01\n"
    text += "web5,10.0.0.5,w5.kota.go.id,Dinas  Sosial,DC Utama,R02\n"
    summary = import_file(factory, write("b.csv", text), "t")
    assert (summary.new_opds, summary.new_sites, summary.new_racks) == (
        ("Dinas Sosial",),
        (),
        ("DC Utama/R02",),
    )
    assert _records(factory)["web4"]["opd"] == "Dinas Kesehatan"
    assert summary.warnings == ()


def test_a_new_name_close_to_another_warns_and_strict_refuses(
    run: Run, factory: Factory, write: Write
) -> None:
    import_file(factory, write("a.csv", PLACED), "t")
    text = f"{HEADER},site,rack\nweb4,10.0.0.4,w4.kota.go.id,Dinas Kesehatn,DC Utama,R02\n"
    path = write("b.csv", text)
    strict = run("inventory", "import", "--strict", str(path))
    assert strict.exit_code == 3
    assert (
        f"{path}:2 [opd]: new OPD 'Dinas Kesehatn' is close to 'Dinas Kesehatan'" in strict.stderr
    )
    result = run("inventory", "import", str(path))
    assert result.exit_code == 0
    assert f"warning: {path}:2 [opd]: new OPD 'Dinas Kesehatn'" in result.stderr
    assert (
        "merge it afterwards (pelihara inventory opd merge 'Dinas Kesehatn' 'Dinas Kesehatan')"
        in (result.stderr)
    )
    assert "new OPDs: Dinas Kesehatn" in result.output
    assert "new racks: DC Utama/R02" in result.output


def test_a_refused_yaml_value_is_told_once(factory: Factory, write: Write) -> None:
    text = "- hostname: web1\n  ip: 10.0.0.1\n  domain: w1.kota.go.id\n  opd: {name: D}\n"
    (problem,) = _rejected(factory, write("once.yaml", text))
    assert (problem.line, problem.column) == (4, "opd")
