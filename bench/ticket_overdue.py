"""How fast the overdue steps are found: 10,000 tickets with 12 steps each.

Run from the project root with the project's virtual environment:

    .venv/bin/python -m bench.ticket_overdue                  # 10,000 tickets
    .venv/bin/python -m bench.ticket_overdue --tickets 50000 --keep /tmp/bench-overdue

The tickets are bulk-inserted (SQLAlchemy Core executemany, no audit entries: the commands
measured only read) into a fresh SQLite database, a realistic mix relative to the real clock
(the commands read it): most tickets closed with their 12 steps, the rest open at every step,
their last step done in the last 5 days, so that some are within their service level and
some past it. Measured: `overdue_steps` in process (median, and its SQL statements),
`pelihara ticket overdue` and `pelihara ticket list --overdue` as whole processes (median,
start-up included), and `ticket list` of every ticket for contrast. Baseline in the same run:
the same aggregate (per open ticket its highest step done and when) as a raw query of the
`sqlite3` command and of Python's sqlite3 module on the same file; `pelihara --version` for
the start-up. Progress goes to stderr, the results table to stdout.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bench.inventory_scale import (
    Report,
    fresh_database,
    millis,
    pelihara_command,
    print_machine,
    query_counter,
    seconds,
    timed,
    work_dir,
    write_csv,
)
from pelihara.inventory.db import transaction
from pelihara.inventory.importer import import_file
from pelihara.inventory.models import Opd, Server
from pelihara.maintenance.calendar import WorkCalendar
from pelihara.maintenance.models import Ticket, TicketServer, TicketStep
from pelihara.maintenance.overdue import overdue_steps
from pelihara.maintenance.sop_file import packaged_sop
from pelihara.maintenance.ticket_sop import ticket_sops
from pelihara.maintenance.tickets import reference_text

SEED = 20261204
SERVERS = 640
STEPS = 12
OPEN_SHARE = 0.15  # the rest is closed
RUNS = 5
ACTOR = "bench"
ZONE_NAME = "Asia/Jakarta"
AGGREGATE = """
SELECT t.id, t.reference, m.step, s.done_at FROM ticket t
  JOIN (SELECT ticket_id, max(step) AS step FROM ticket_step JOIN ticket ON ticket.id = ticket_id
        WHERE ticket.status = 'open' GROUP BY ticket_id) m ON m.ticket_id = t.id
  JOIN ticket_step s ON s.ticket_id = t.id AND s.step = m.step
 WHERE t.status = 'open';
"""


# --- the tickets ---------------------------------------------------------------------------


def _servers(factory: sessionmaker[Session]) -> list[tuple[int, str, int, str]]:
    """(server id, hostname, OPD id, OPD name) of the inventory."""
    with transaction(factory, commit=False) as session:
        rows = session.execute(select(Server.id, Server.hostname, Opd.id, Opd.name)
                               .join(Opd, Opd.id == Server.opd_id).order_by(Server.id))  # fmt: skip
        return [(a, b, c, d) for a, b, c, d in rows]


def _steps(ticket_id: int, opened: datetime, done: int, rng: random.Random,
           last: datetime | None) -> list[dict[str, Any]]:  # fmt: skip
    """Steps 1..DONE, a few hours to two days apart; the last at LAST when given."""
    moments, moment = [], opened
    for _ in range(done):
        moments.append(moment)
        moment += timedelta(hours=rng.randrange(2, 48))
    if last is not None:
        shift = last - moments[-1]
        moments = [m + shift for m in moments]
    return [{"ticket_id": ticket_id, "step": n, "done_at": m, "person_name": "Budi Santoso",
             "actor": "OS user bench"} for n, m in enumerate(moments, start=1)]  # fmt: skip


def generate(
    count: int, servers: list[tuple[int, str, int, str]], now: datetime
) -> dict[str, list[dict[str, Any]]]:
    """COUNT tickets: rows of ticket, ticket_server and ticket_step, relative to NOW."""
    rng, sop = random.Random(SEED), packaged_sop()
    tickets, links, steps = [], [], []
    for number in range(1, count + 1):
        server_id, host, opd_id, opd = servers[rng.randrange(len(servers))]
        is_open = rng.random() < OPEN_SHARE
        # Closed tickets over the last two years; open ones' last step in the last 5 days.
        last = now - timedelta(hours=rng.randrange(1, 5 * 24)) if is_open else None
        opened = now - timedelta(days=rng.randrange(20, 730))
        done = rng.randrange(1, len(sop.steps)) if is_open else len(sop.steps)
        year = 2025 + number * 2 // (count + 1)
        tickets.append({
            "id": number, "reference": reference_text(year, number), "year": year,
            "number": number, "sop_name": sop.name, "sop_revision": sop.revision,
            "opd_id": opd_id, "opd_name": opd, "letter_number": f"{number:05d}/SURAT/{year}",
            "letter_date": opened.date(), "summary": "Pemeliharaan server", "intents": None,
            "window_start": None, "window_end": None,
            "status": "open" if is_open else "done", "created_at": opened,
            "created_by": "Budi Santoso", "created_by_nip": None,
            "closed_at": None if is_open else opened + timedelta(days=10),
        })  # fmt: skip
        links.append({"ticket_id": number, "server_id": server_id, "host": host})
        steps.extend(_steps(number, opened, done, rng, last))
    return {"ticket": tickets, "ticket_server": links, "ticket_step": steps}


def insert_tickets(factory: sessionmaker[Session], rows: dict[str, list[dict[str, Any]]]) -> None:
    with transaction(factory) as session:
        for model in (Ticket, TicketServer, TicketStep):
            session.execute(insert(model), rows[model.__tablename__])


def build(work: Path, count: int, now: datetime, report: Report) -> tuple[Engine, Path]:
    engine, factory = fresh_database(work / "tickets.db")
    source = write_csv(work / "inventory.csv", 0, SERVERS)
    import_file(factory, source, ACTOR)
    rows = generate(count, _servers(factory), now)
    elapsed, _ = timed(lambda: insert_tickets(factory, rows))
    open_count = sum(1 for t in rows["ticket"] if t["status"] == "open")
    report.add("build", f"{count:,} tickets, {len(rows['ticket_step']):,} steps inserted",
               seconds(elapsed), f"{open_count:,} open, the rest closed")  # fmt: skip
    return engine, Path(str(engine.url.database))


# --- measurements --------------------------------------------------------------------------


def in_process(engine: Engine, now: datetime, report: Report) -> int:
    from zoneinfo import ZoneInfo

    factory = sessionmaker(engine, expire_on_commit=False)
    cal = WorkCalendar(ZoneInfo(ZONE_NAME))
    sop_of = ticket_sops(Path.cwd(), print)  # every ticket here walks the packaged SOP

    def once() -> int:
        with transaction(factory, commit=False) as session:
            return len(overdue_steps(session, sop_of, cal, now))

    times, found = [], 0
    for _ in range(RUNS):
        elapsed, found = timed(once)
        times.append(elapsed)
    report.add("in process", f"overdue_steps, median of {RUNS}", millis(statistics.median(times)),
               f"{found:,} overdue; first run {millis(times[0])}")  # fmt: skip
    with query_counter(engine) as statements:
        once()
    report.add("in process", "SQL statements of overdue_steps", str(len(statements)))
    return found


def wall(command: list[str], env: dict[str, str], allowed: tuple[int, ...] = (0,)) -> float:
    """Wall time of COMMAND, output discarded; a status not ALLOWED stops the benchmark."""
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                          check=False)  # fmt: skip
    elapsed = time.perf_counter() - start
    if done.returncode not in allowed:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.decode()}")
    return elapsed


def median_wall(command: list[str], env: dict[str, str], allowed: tuple[int, ...] = (0,)) -> str:
    return seconds(statistics.median(wall(command, env, allowed) for _ in range(RUNS)))


def commands(database: Path, work: Path, report: Report) -> None:
    env = {**os.environ, "PELIHARA_HOME": str(work / "home"),
           "PELIHARA_CONFIG": str(work / "pelihara.toml")}  # fmt: skip
    (work / "pelihara.toml").write_text('[calendar]\nextra_holidays = ["2026-12-24"]\n')
    base = [*pelihara_command(), "--db", f"sqlite:///{database}"]
    note = f"median of {RUNS}, whole process"
    measured = (("ticket overdue --format json", ("ticket", "overdue", "--format", "json"), (1,)),
                ("ticket list --overdue --format json",
                 ("ticket", "list", "--overdue", "--format", "json"), (0,)),
                ("ticket list --format json (every ticket)",
                 ("ticket", "list", "--format", "json"), (0,)))  # fmt: skip
    for label, args, allowed in measured:
        report.add("commands", f"pelihara {label}", median_wall([*base, *args], env, allowed),
                   note)  # fmt: skip
    report.add("commands", "pelihara --version (start-up)",
               median_wall([*pelihara_command(), "--version"], env), note)  # fmt: skip


def baselines(database: Path, report: Report) -> None:
    """The same aggregate, raw: the sqlite3 command (whole process) and the sqlite3 module."""
    cli = shutil.which("sqlite3")
    if cli is not None:
        times = [wall([cli, str(database), AGGREGATE], dict(os.environ)) for _ in range(RUNS)]
        median = millis(statistics.median(times))
        report.add("baseline", "sqlite3 CLI: the aggregate query", median,
                   f"median of {RUNS}, whole process")  # fmt: skip
    connection = sqlite3.connect(database)
    try:
        times, count = [], 0
        for _ in range(RUNS):
            elapsed, rows = timed(lambda: connection.execute(AGGREGATE).fetchall())
            times.append(elapsed)
            count = len(rows)
        report.add("baseline", "Python sqlite3: the aggregate query",
                   millis(statistics.median(times)), f"{count:,} open tickets")  # fmt: skip
    finally:
        connection.close()


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000, help="tickets to generate")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="work here and keep the files")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("PELIHARA_AUDIT_KEY", secrets.token_hex(32))  # the inventory import
    print_machine()
    print(f"load:     {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)")
    now = datetime.now(UTC)  # the commands read the real clock: the data is made around it
    report, started = Report(), time.perf_counter()
    with work_dir(args.keep) as work:
        print(f"work dir: {work}{'' if args.keep else ' (removed at the end)'}", flush=True)
        os.environ["PELIHARA_HOME"] = str(work / "home")
        engine, database = build(work, args.tickets, now, report)
        in_process(engine, now, report)
        commands(database, work, report)
        baselines(database, report)
        engine.dispose()
    print()
    report.print()
    print(f"\ntoday: {date.today()}; total benchmark time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
