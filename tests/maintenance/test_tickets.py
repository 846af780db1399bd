"""Tickets: `ticket new` (step 1 done, the OPD must own the servers, who opens it is
established), `ticket list` and `ticket show` (deadlines on the working-day calendar, with
a frozen clock), on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import json
import os
import pwd
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from pelihara.cli.main import cli
from pelihara.core.config import load_config
from pelihara.inventory.audit_guards import guard_problems
from pelihara.inventory.db import transaction
from pelihara.inventory.importer import import_file
from pelihara.inventory.models import AuditEntry
from pelihara.maintenance.calendar import WorkCalendar
from pelihara.maintenance.models import Ticket, TicketStep
from pelihara.maintenance.people import load_people
from pelihara.maintenance.sop_file import packaged_sop
from pelihara.maintenance.ticket_view import step_views
from pelihara.maintenance.tickets import NewTicket, Recorder, open_ticket, parse_window

ME = pwd.getpwuid(os.geteuid()).pw_name  # root in CI
WIB = ZoneInfo("Asia/Jakarta")
INVENTORY = """hostname,ip,domain,opd
dinkes-web01,10.0.0.11,web.dinkes.test.lab,Dinas Kesehatan
dinkes-db01,10.0.0.12,db.dinkes.test.lab,Dinas Kesehatan
disdik-web01,10.0.1.11,web.disdik.test.lab,Dinas Pendidikan
"""
LETTER = ["--letter", "005/DINKES/III/2026", "--letter-date", "2026-03-02"]


def _people(tmp_path: Path, db_role: str, roles: str = '"tim_data_center"') -> Path:
    path = tmp_path / "pelihara.toml"
    path.write_text(f"""
[[people]]
name = "Budi Santoso"
nip = "198801142011011003"
roles = [{roles}]
os_user = "{ME}"
db_role = "{db_role}"
""", encoding="utf-8")  # fmt: skip
    return path


@pytest.fixture
def config(tmp_path: Path, db_url: str) -> Path:
    """pelihara.toml mapping who runs the tests (and the test database's role) to Budi."""
    role = make_url(db_url).username or "postgres"
    return _people(tmp_path, role)


@pytest.fixture
def stocked(factory: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "inventory.csv"
    path.write_text(INVENTORY, encoding="utf-8")
    import_file(factory, path, "tester")


@pytest.fixture
def pelihara(db_url: str, config: Path, stocked: None) -> Callable[..., Result]:
    """`pelihara --db URL ARGS` as Budi (no --actor, no PELIHARA_ACTOR)."""

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        full = {"PELIHARA_CONFIG": str(config), "PELIHARA_ACTOR": "", **(env or {})}
        return CliRunner().invoke(cli, ["--db", db_url, *args], env=full)

    return invoke


def _new(pelihara: Callable[..., Result], *servers: str, opd: str = "dinas  KESEHATAN") -> Result:
    hosts = [part for host in servers for part in ("--server", host)]
    return pelihara("ticket", "new", *LETTER, "--opd", opd, *hosts, "--summary", "Ganti disk")


def test_new_opens_a_ticket_with_step_1_done_and_audited(
    pelihara: Callable[..., Result], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    intents = tmp_path / "intents.yaml"
    intents.write_text("version: 1\nintents:\n  - {action: replace_disk, serial: A1, by: B2}\n",
                       encoding="utf-8")  # fmt: skip
    result = pelihara("ticket", "new", *LETTER, "--opd", "dinas kesehatan", "--server",
                      "10.0.0.12", "--server", "dinkes-web01", "--summary", "Ganti disk",
                      "--intent", str(intents), "--window", "2026-03-10 20:00..23:00")  # fmt: skip
    assert result.exit_code == 0, result.output
    reference = result.output.strip()
    assert reference == f"{datetime.now(WIB).year}/0001"
    assert _new(pelihara, "dinkes-web01").output.strip().endswith("/0002")
    with transaction(factory, commit=False) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.reference == reference)).one()
        assert [s.host for s in ticket.servers] == ["dinkes-db01", "dinkes-web01"]
        assert ticket.opd_name == "Dinas Kesehatan" and ticket.status == "open"
        assert (ticket.letter_number, ticket.letter_date) == (
            "005/DINKES/III/2026",
            date(2026, 3, 2),
        )
        assert ticket.sop_name == "pemeliharaan-server" and ticket.sop_revision == "02"
        assert json.loads(ticket.intents or "null")["intents"][0]["action"] == "replace_disk"
        assert ticket.window_start is not None
        assert ticket.window_start.astimezone(UTC).hour == 13  # 20:00 WIB
        [step] = ticket.steps
        assert (step.step, step.person_name, step.person_nip) == (1, "Budi Santoso",
                                                                  "198801142011011003")  # fmt: skip
        assert ME in step.actor
        entry = session.scalars(select(AuditEntry).where(AuditEntry.entity == "ticket")
                                .order_by(AuditEntry.seq)).first()  # fmt: skip
        assert entry is not None and entry.entity_key == reference
        assert entry.actor == "Budi Santoso" and entry.action == "create"
        assert entry.after is not None and entry.after["servers"] == ["dinkes-db01", "dinkes-web01"]
    assert pelihara("audit", "verify").exit_code == 0


def test_servers_of_another_opd_are_refused_naming_their_owner(
    pelihara: Callable[..., Result], factory: sessionmaker[Session]
) -> None:
    result = _new(pelihara, "dinkes-web01", "web.disdik.test.lab")
    assert result.exit_code == 2
    assert "disdik-web01 belongs to Dinas Pendidikan, not to Dinas Kesehatan" in result.output
    with transaction(factory, commit=False) as session:
        assert session.scalars(select(Ticket)).first() is None
        assert (
            session.scalars(select(AuditEntry).where(AuditEntry.entity == "ticket")).first() is None
        )


def test_an_unknown_server_or_opd_is_refused(pelihara: Callable[..., Result]) -> None:
    result = _new(pelihara, "nowhere01")
    assert result.exit_code == 7 and "no server 'nowhere01'" in result.output
    result = _new(pelihara, "dinkes-web01", opd="Dinas Perhubungan")
    assert result.exit_code == 7 and "no OPD 'Dinas Perhubungan'" in result.output


def test_someone_unconfigured_the_wrong_role_or_a_free_actor_is_refused(
    pelihara: Callable[..., Result], tmp_path: Path, db_url: str
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    nobody = _people(other, "pltest_nobody").read_text().replace(f'"{ME}"', '"pltest_x"')
    (other / "pelihara.toml").write_text(nobody, encoding="utf-8")
    result = _new_with(pelihara, other / "pelihara.toml")
    assert result.exit_code == 2 and "not in pelihara.toml's people" in result.output
    role = make_url(db_url).username or "postgres"
    wrong = _people(other, role, roles='"kepala_bidang"')
    result = _new_with(pelihara, wrong)
    assert result.exit_code == 2 and "(role tim_data_center)" in result.output
    result = _new(lambda *a: pelihara(*a, env={"PELIHARA_ACTOR": "Dr. Andi"}), "dinkes-web01")
    assert result.exit_code == 2 and "--actor (or PELIHARA_ACTOR) 'Dr. Andi'" in result.output
    assert pelihara("ticket", "list", "--format", "json").output.strip() == "[]"


def _new_with(pelihara: Callable[..., Result], config: Path) -> Result:
    hosts = ("--opd", "Dinas Kesehatan", "--server", "dinkes-web01")
    return pelihara("ticket", "new", *LETTER, *hosts, "--summary", "x",
                    env={"PELIHARA_CONFIG": str(config)})  # fmt: skip


def test_list_filters_by_status_and_opd_in_every_format(
    pelihara: Callable[..., Result], engine: Engine
) -> None:
    first = _new(pelihara, "dinkes-web01").output.strip()
    second = _new(pelihara, "dinkes-db01").output.strip()
    with engine.begin() as connection:  # the status is the one mutable column of a ticket
        connection.execute(text("UPDATE ticket SET status = 'done' WHERE reference = :r"),
                           {"r": first})  # fmt: skip
    found = json.loads(pelihara("ticket", "list", "--format", "json").output)
    assert [t["reference"] for t in found] == [second, first]
    assert found[0]["next_step"] == 2 and found[0]["next_role"] == "kepala_dinas"
    found = json.loads(pelihara("ticket", "list", "--status", "open", "--format", "json").output)
    assert [t["reference"] for t in found] == [second]
    assert (
        pelihara("ticket", "list", "--opd", "pendidikan", "--format", "json").output.strip() == "[]"
    )
    rows = pelihara("ticket", "list", "--format", "csv").output.splitlines()
    assert rows[0].startswith("reference,status,opd,servers")
    assert rows[1].startswith(f"{second},open,Dinas Kesehatan,dinkes-db01,")
    table = pelihara("ticket", "list", "--wide")
    assert table.exit_code == 0 and second in table.output


def test_show_lists_the_twelve_steps_with_deadlines_and_evidence(
    pelihara: Callable[..., Result],
) -> None:
    reference = _new(pelihara, "dinkes-web01").output.strip()
    shown = json.loads(pelihara("ticket", "show", reference, "--format", "json").output)
    steps = shown["steps"]
    assert [s["step"] for s in steps] == list(range(1, 13))
    assert steps[0]["done"] and steps[0]["by"] == "Budi Santoso"
    assert steps[1]["service_level"] in ("due", "missed") and steps[2]["service_level"] == "waiting"
    assert steps[3]["evidence_kinds"] == ["verification_run"]
    assert (steps[3]["evidence_status"], steps[3]["evidence"]) == ("waiting", [])
    assert steps[1]["evidence_status"] == "none needed"
    assert steps[11]["service_level_days"] is None and steps[11]["due"] is None
    table = pelihara("ticket", "show", reference, "--wide")
    assert table.exit_code == 0
    assert "waiting" in table.output and "Budi Santoso" in table.output
    assert pelihara("ticket", "show", "2026/9999").exit_code == 7


def _open(factory: sessionmaker[Session], config: Path, now: datetime) -> str:
    person = load_people(load_config(config)).people[0]
    request = NewTicket("005/X", date(2026, 3, 5), "Dinas Kesehatan", ("dinkes-web01",), "x")
    with transaction(factory) as session:
        ticket = open_ticket(session, request, Recorder(person, "OS user test"),
                             packaged_sop(), now, WIB)  # fmt: skip
        return ticket.reference


def test_deadlines_count_working_days_with_a_frozen_clock(
    factory: sessionmaker[Session], config: Path, stocked: None
) -> None:
    # The letter is dated Thursday 2026-03-05; step 1 is recorded Friday 2026-03-06 10:00 WIB:
    # due by the end of the next working day after the letter (Friday), so met.
    opened = datetime(2026, 3, 6, 3, 0, tzinfo=UTC)
    reference = _open(factory, config, opened)
    assert reference == "2026/0001"
    cal = WorkCalendar(WIB, public=frozenset(), extra=frozenset({date(2026, 3, 9)}))
    sop = packaged_sop()
    with transaction(factory, commit=False) as session:
        ticket = session.scalars(select(Ticket)).one()
        monday_noon = datetime(2026, 3, 9, 5, 0, tzinfo=UTC)
        views = step_views(ticket, sop, cal, monday_noon)
        assert views[0].state == "met" and views[0].deadline is not None
        assert views[0].deadline.due_day == date(2026, 3, 6)
        # Step 2 starts Friday; Monday is a configured day off: due Tuesday, due until then.
        assert views[1].deadline is not None and views[1].deadline.due_day == date(2026, 3, 10)
        assert views[1].state == "due"
        assert views[2].state == "waiting" and views[2].deadline is None
        assert views[11].deadline is None
        wednesday = datetime(2026, 3, 11, 1, 0, tzinfo=UTC)
        assert step_views(ticket, sop, cal, wednesday)[1].state == "missed"


def test_the_reference_counts_per_year_in_the_data_centers_zone(
    factory: sessionmaker[Session], config: Path, stocked: None
) -> None:
    # 2026-12-31 18:00 UTC is 2027-01-01 01:00 WIB: the first ticket of 2027.
    assert _open(factory, config, datetime(2026, 12, 31, 10, tzinfo=UTC)) == "2026/0001"
    assert _open(factory, config, datetime(2026, 12, 31, 18, tzinfo=UTC)) == "2027/0001"
    assert _open(factory, config, datetime(2027, 1, 2, tzinfo=UTC)) == "2027/0002"


def test_a_done_step_and_a_tickets_servers_cannot_be_changed(
    factory: sessionmaker[Session], config: Path, stocked: None, engine: Engine
) -> None:
    _open(factory, config, datetime(2026, 3, 6, tzinfo=UTC))
    statements = (
        "UPDATE ticket_step SET person_name = 'x'",
        "DELETE FROM ticket_step",
        "UPDATE ticket_server SET host = 'x'",
        "DELETE FROM ticket_server",
    )
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    with engine.connect() as connection:
        assert guard_problems(connection) == []
    with transaction(factory, commit=False) as session:
        assert session.scalars(select(TicketStep)).one().person_name == "Budi Santoso"


def test_the_window_is_read_in_the_zone() -> None:
    start, end = parse_window("2026-03-10 20:00..23:30", WIB)
    assert (start, end) == (
        datetime(2026, 3, 10, 13, tzinfo=UTC),
        datetime(2026, 3, 10, 16, 30, tzinfo=UTC),
    )
    start, end = parse_window("2026-03-10T22:00..2026-03-11 02:00", WIB)
    assert end - start == datetime(2026, 1, 1, 4) - datetime(2026, 1, 1)
    for bad, said in (("2026-03-10 20:00", "START..END"), ("2026-03-10 20:00..19:00", "not after"),
                      ("tomorrow..later", "is no time")):  # fmt: skip
        with pytest.raises(Exception, match=said):
            parse_window(bad, WIB)
