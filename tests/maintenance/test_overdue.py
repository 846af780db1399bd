"""Service levels: `ticket overdue` and `ticket list --overdue` with a frozen clock, across a
weekend, an Indonesian public holiday and a configured *cuti bersama* day; a fixed number of
SQL statements whatever the number of tickets. On SQLite and on the real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from pelihara.cli import ticket_overdue
from pelihara.cli.main import cli
from pelihara.core.config import load_config
from pelihara.inventory.db import transaction
from pelihara.maintenance.advance import Actor, Advance, advance_ticket
from pelihara.maintenance.calendar import WorkCalendar, public_holidays, work_calendar
from pelihara.maintenance.models import Ticket, TicketStep
from pelihara.maintenance.overdue import OverdueStep, overdue_steps
from pelihara.maintenance.people import load_people
from pelihara.maintenance.sop_file import packaged_sop
from pelihara.maintenance.ticket_sop import ticket_sops
from pelihara.maintenance.tickets import NewTicket, Recorder, open_ticket
from tests.maintenance.test_advance import OFFICIALS
from tests.maintenance.test_tickets import WIB, _people, stocked
from tests.statements import counting

__all__ = ["stocked"]  # the inventory of Dinas Kesehatan and Dinas Pendidikan (a fixture)

CUTI_BERSAMA = date(2026, 12, 24)  # Thursday before Christmas, a real cuti bersama day
OFFICIAL_OF = {2: "Dr. Andi Wijaya", 3: "Sari Dewi"}  # steps 2 and 3 are signed on paper


def wib(*parts: int) -> datetime:
    """A moment read on a Jakarta clock, in UTC (as the commands pass their clock)."""
    return datetime(*parts, tzinfo=WIB).astimezone(UTC)  # type: ignore[misc]


@pytest.fixture
def config(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Budi (tim_data_center) as whoever runs the tests, the officials, one cuti bersama."""
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path / "home"))
    path = _people(tmp_path, make_url(db_url).username or "postgres")
    extra = f'\n[calendar]\nextra_holidays = ["{CUTI_BERSAMA.isoformat()}"]\n'
    path.write_text(path.read_text() + OFFICIALS + extra, encoding="utf-8")
    return path


def _open(factory: sessionmaker[Session], config: Path, now: datetime,
          server: str = "dinkes-web01", opd: str = "Dinas Kesehatan") -> str:  # fmt: skip
    """A ticket opened at NOW (step 1 done then) for SERVER; its reference."""
    person = load_people(load_config(config)).people[0]
    request = NewTicket("005/X", now.date(), opd, (server,), "Ganti disk")
    with transaction(factory) as session:
        opened = open_ticket(session, request, Recorder(person, "OS user test"),
                             packaged_sop(), now, WIB)  # fmt: skip
        return opened.reference


def _advance(factory: sessionmaker[Session], config: Path, ref: str, step: int,
             now: datetime) -> None:  # fmt: skip
    """Step 2 or 3 of REF done at NOW by Budi, on behalf of its official, with the scan."""
    people = load_people(load_config(config))
    scan = config.parent / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 signed\n")
    request = Advance(step, None, OFFICIAL_OF[step], (scan,))
    with transaction(factory) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        who = Actor(people.people[0], people, "OS user test")
        advance_ticket(session, ticket, packaged_sop(), who, request, now, config.parent / "a")


def _overdue(
    factory: sessionmaker[Session], config: Path, now: datetime, cal: WorkCalendar | None = None,
    opd: str | None = None,
) -> list[OverdueStep]:  # fmt: skip
    calendar = cal or work_calendar(load_config(config))
    sop_of = ticket_sops(config.parent, print)
    with transaction(factory, commit=False) as session:
        return overdue_steps(session, sop_of, calendar, now, opd)


def test_a_weekend_and_a_public_holiday_do_not_count(
    factory: sessionmaker[Session], config: Path, stocked: None
) -> None:
    # Friday 2026-05-29 10:00 WIB, step 1 done: step 2 (1 working day) starts. Saturday,
    # Sunday (also Waisak) and Monday 2026-06-01 (Hari Lahir Pancasila) are no working days:
    # step 2 is due by the end of Tuesday 2026-06-02.
    assert date(2026, 6, 1) in public_holidays()
    opened = wib(2026, 5, 29, 10, 0)
    ref = _open(factory, config, opened)
    assert _overdue(factory, config, wib(2026, 6, 1, 12, 0)) == []
    assert _overdue(factory, config, wib(2026, 6, 2, 23, 59, 59)) == []
    [item] = _overdue(factory, config, wib(2026, 6, 3, 0, 0))
    assert (item.ticket.reference, item.step.number, item.step.role) == (ref, 2, "kepala_dinas")
    assert item.started == opened and item.deadline.due_day == date(2026, 6, 2)
    assert item.deadline.last_moment() == wib(2026, 6, 2, 23, 59, 59)
    assert item.servers == ("dinkes-web01",) and item.steps_done == 1
    assert (item.late.working_days, item.late.hours) == (1, 0)
    [later] = _overdue(factory, config, wib(2026, 6, 4, 1, 30))
    assert (later.late.working_days, later.late.hours) == (2, 25)
    assert later.late.text() == "2 working days (25 h)"


def test_a_configured_cuti_bersama_day_does_not_count_and_a_step_starts_when_the_one_before_ends(
    factory: sessionmaker[Session], config: Path, stocked: None
) -> None:
    ref = _open(factory, config, wib(2026, 12, 22, 10, 0))
    step_2 = wib(2026, 12, 23, 15, 0)  # in time: due by the end of Wednesday
    _advance(factory, config, ref, 2, step_2)
    # Step 3 starts Wednesday: Thursday is the configured cuti bersama, Friday Christmas,
    # then the weekend: due by the end of Monday 2026-12-28.
    monday_noon = wib(2026, 12, 28, 12, 0)
    assert _overdue(factory, config, monday_noon) == []
    without_cuti = WorkCalendar(WIB)  # the same calendar without the configured day
    assert [i.step.number for i in _overdue(factory, config, monday_noon, without_cuti)] == [3]
    assert _overdue(factory, config, wib(2026, 12, 28, 23, 59, 59)) == []
    [item] = _overdue(factory, config, wib(2026, 12, 29, 0, 0))
    assert (item.step.number, item.step.role, item.started) == (3, "kepala_bidang", step_2)
    assert item.deadline.due_day == date(2026, 12, 28) and item.steps_done == 2


def test_a_done_ticket_is_never_overdue(
    factory: sessionmaker[Session], config: Path, stocked: None, engine: Engine
) -> None:
    done = _open(factory, config, wib(2026, 3, 2, 9, 0))
    late = _open(factory, config, wib(2026, 3, 2, 9, 0), server="dinkes-db01")
    with transaction(factory) as session:  # steps whose gates are not built, written as done
        ticket = session.scalars(select(Ticket).where(Ticket.reference == done)).one()
        session.add_all(TicketStep(ticket_id=ticket.id, step=step, person_name="Budi Santoso",
                                   done_at=datetime(2026, 3, 3, tzinfo=UTC), actor="test")
                        for step in range(2, 13))  # fmt: skip
    with engine.begin() as connection:  # status is the one mutable column of a ticket
        connection.execute(text("UPDATE ticket SET status = 'done' WHERE reference = :r"),
                           {"r": done})  # fmt: skip
    found = _overdue(factory, config, datetime(2030, 1, 1, tzinfo=UTC))
    assert [item.ticket.reference for item in found] == [late]
    assert _overdue(factory, config, datetime(2030, 1, 1, tzinfo=UTC), opd="pendidikan") == []


@pytest.fixture
def pelihara(
    db_url: str, config: Path, stocked: None, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """`pelihara --db URL ARGS` at the frozen moment AT (the command's clock replaced)."""

    def invoke(*args: str, at: datetime) -> Result:
        monkeypatch.setattr(ticket_overdue, "_now", lambda: at)
        env = {"PELIHARA_CONFIG": str(config), "PELIHARA_ACTOR": ""}
        return CliRunner().invoke(cli, ["--db", db_url, *args], env=env)

    return invoke


def test_the_command_exits_1_when_a_step_is_overdue_and_0_when_none(
    pelihara: Callable[..., Result], factory: sessionmaker[Session], config: Path
) -> None:
    ref = _open(factory, config, wib(2026, 5, 29, 10, 0))
    before, after = wib(2026, 6, 2, 23, 59, 59), wib(2026, 6, 3, 0, 0)
    result = pelihara("ticket", "overdue", at=before)
    assert result.exit_code == 0 and result.stdout == ""
    assert "no step is past its service level" in result.stderr
    result = pelihara("ticket", "overdue", at=after)
    assert result.exit_code == 1, result.output
    assert ref in result.stdout and "2026-06-02 23:59:59 WIB" in result.stdout
    [item] = json.loads(pelihara("ticket", "overdue", "--format", "json", at=after).stdout)
    assert (item["reference"], item["step"], item["role"]) == (ref, 2, "kepala_dinas")
    assert item["due"] == "2026-06-02T16:59:59Z" and item["late_hours"] == 0
    rows = pelihara("ticket", "overdue", "--format", "csv", at=after).stdout.splitlines()
    assert rows[0].startswith("reference,opd,servers,step") and rows[1].startswith(ref)
    result = pelihara("ticket", "overdue", "--opd", "pendidikan", "--format", "json", at=after)
    assert result.exit_code == 0 and json.loads(result.stdout) == []


def test_list_overdue_shows_the_tickets_as_list_does(
    pelihara: Callable[..., Result], factory: sessionmaker[Session], config: Path
) -> None:
    late = _open(factory, config, wib(2026, 5, 29, 10, 0))
    _open(factory, config, wib(2026, 6, 2, 10, 0), server="dinkes-db01")  # due Wednesday
    at = wib(2026, 6, 3, 8, 0)
    every = json.loads(pelihara("ticket", "list", "--format", "json", at=at).stdout)
    result = pelihara("ticket", "list", "--overdue", "--format", "json", at=at)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [t for t in every if t["reference"] == late]
    done = pelihara("ticket", "list", "--overdue", "--status", "done", "--format", "json", at=at)
    assert json.loads(done.stdout) == []
    table = pelihara("ticket", "list", "--overdue", "--wide", at=at)
    assert late in table.stdout and "dinkes-db01" not in table.stdout


def test_each_ticket_is_held_to_its_own_sop(
    pelihara: Callable[..., Result], factory: sessionmaker[Session], config: Path, engine: Engine
) -> None:
    packaged = files("pelihara.maintenance").joinpath("sops", "pemeliharaan-server.yaml")
    relaxed = packaged.read_text(encoding="utf-8").replace(
        "name: pemeliharaan-server", "name: pemeliharaan-longgar"
    ).replace("role: kepala_dinas\n    service_level_days: 1", "role: kepala_dinas\n"
              "    service_level_days: 3", 1)  # fmt: skip
    (config.parent / "sops").mkdir()
    (config.parent / "sops" / "longgar.yaml").write_text(relaxed, encoding="utf-8")
    strict = _open(factory, config, wib(2026, 3, 2, 10, 0))
    relaxed_ref = _open(factory, config, wib(2026, 3, 2, 10, 0), server="dinkes-db01")
    with engine.begin() as connection:  # as `ticket new --sop pemeliharaan-longgar` would
        connection.execute(text("UPDATE ticket SET sop_name = :s WHERE reference = :r"),
                           {"s": "pemeliharaan-longgar", "r": relaxed_ref})  # fmt: skip
    # Step 2 started Monday: 1 working day is due Tuesday, 3 working days Thursday.
    [item] = _overdue(factory, config, wib(2026, 3, 4, 12, 0))
    assert item.ticket.reference == strict
    assert {i.ticket.reference for i in _overdue(factory, config, wib(2026, 3, 6, 0, 0))} == {
        strict, relaxed_ref,
    }  # fmt: skip
    with engine.begin() as connection:
        connection.execute(text("UPDATE ticket SET sop_name = 'hilang' WHERE reference = :r"),
                           {"r": strict})  # fmt: skip
    result = pelihara("ticket", "overdue", at=wib(2026, 3, 6, 0, 0))
    assert result.exit_code == 2  # as show, list and advance: a configuration problem
    gone = f"ticket {strict} walks SOP 'hilang' (revision 02), which cannot be read"
    assert gone in result.stderr


def test_a_database_error_is_status_6_never_nothing_overdue(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/never-initialised.db"
    result = CliRunner().invoke(cli, ["--db", url, "ticket", "overdue"])
    assert result.exit_code == 6
    assert "no step is past" not in result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_the_statements_do_not_grow_with_the_number_of_tickets(
    pelihara: Callable[..., Result], factory: sessionmaker[Session], config: Path
) -> None:
    at, counts = datetime(2030, 1, 1, tzinfo=UTC), []
    for total in (2, 12):
        while len(_overdue(factory, config, at)) < total:
            _open(factory, config, wib(2026, 3, 2, 9, 0))
        with counting() as function:
            assert len(_overdue(factory, config, at)) == total
        with counting() as listed:
            result = pelihara("ticket", "list", "--overdue", "--format", "json", at=at)
        assert len(json.loads(result.stdout)) == total
        with counting() as command:
            assert pelihara("ticket", "overdue", "--format", "json", at=at).exit_code == 1
        with counting() as everything:
            result = pelihara("ticket", "list", "--format", "json", at=at)
        assert [t["steps_done"] for t in json.loads(result.stdout)] == [1] * total
        counts.append((len(function), len(listed), len(command), len(everything)))
    assert counts[0] == counts[1]
    assert counts[0][0] == 2  # the open tickets with their last step; their servers


def test_a_step_done_meanwhile_by_another_writer_is_refused_as_done_not_as_a_database_error(
    factory: sessionmaker[Session], config: Path, stocked: None
) -> None:
    """Two operators record step 2 at once: the second read the ticket before the first
    committed. Under the writers' lock the ticket is read again, so the second is told the
    step is done (status 2), not a unique-key violation (a database error, status 6)."""
    from pelihara.maintenance.tickets import TicketError

    ref = _open(factory, config, wib(2026, 3, 2, 9, 0))
    people = load_people(load_config(config))
    scan = config.parent / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 signed\n")
    request = Advance(2, None, OFFICIAL_OF[2], (scan,))
    who = Actor(people.people[0], people, "OS user test")
    late = factory()
    try:
        stale = late.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        assert [step.step for step in stale.steps] == [1]  # read before the other commits
        late.commit()  # ends the read (SQLite: no snapshot held), the objects stay loaded
        _advance(factory, config, ref, 2, wib(2026, 3, 2, 10, 0))
        with pytest.raises(TicketError, match=r"step 2 .* is already done"):
            advance_ticket(late, stale, packaged_sop(), who, request, wib(2026, 3, 2, 10, 5),
                           config.parent / "a")  # fmt: skip
    finally:
        late.rollback()
        late.close()
