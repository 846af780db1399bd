"""How fast the Berita Acara of a ticket of 20 servers is made as PDF (issue 14: < 10 s).

Run from the project root with the project's virtual environment:

    .venv/bin/python -m bench.report_pdf                     # 20 servers
    .venv/bin/python -m bench.report_pdf --servers 40 --keep /tmp/bench-report

The ticket is built as the tools build it, quickly: SERVERS servers in a fresh SQLite
inventory (this machine and SERVERS-1 others, 4 components each), a ticket of them (`pelihara
ticket new`), ONE real `pelihara snapshot take --probe local` of this machine stored as a
pre and a post snapshot of every server (`snapshot_store.store_snapshot`, as
tests/maintenance/test_report.py's `pulled_pair` does: each server's own hostname, a disk
swapped and a package upgraded between pre and post), their diffs stored by `pelihara
snapshot diff --ticket`, health samples in the embedded time-series store around each
server's snapshots (cpu, memory, two mounts and load1 every 2 minutes from an hour before the
pre snapshot to an hour after the post one, a pause while the server is down: ~450 points
per server, written through `Store.write` as the agent writes them), steps 2 to 8 inserted
as done. Measured as whole processes (median of RUNS, the first run, which records the
report on the ticket, reported apart): `pelihara report T --format pdf` and `--format html`.
Baseline in the same run: WeasyPrint alone rendering that very HTML to PDF (in process, and
as a whole `python` process with its import), the floor of any HTML-to-PDF report; `pelihara
--version` for the start-up. Progress goes to stderr, the results table to stdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bench.inventory_scale import (
    Report,
    fresh_database,
    pelihara_command,
    print_machine,
    seconds,
    timed,
    work_dir,
)
from bench.ticket_overdue import wall
from pelihara.collector.models import SnapshotDiffRecord, SnapshotRecord
from pelihara.collector.snapshot_store import store_snapshot
from pelihara.facts.model import Disk
from pelihara.facts.snapshot import Snapshot, snapshot_from_json
from pelihara.inventory.db import transaction
from pelihara.inventory.importer import import_file
from pelihara.inventory.models import Server
from pelihara.maintenance.models import Ticket, TicketStep
from pelihara.timeseries import open_store
from pelihara.timeseries.base import Point
from pelihara.timeseries.selection import datetime_ns

RUNS = 5
ACTOR = "bench"
ME = socket.gethostname().split(".")[0].lower()
SAMPLE = timedelta(minutes=2)
MARGIN = timedelta(hours=1)  # the chart spans an hour either side (charts.DEFAULT_WINDOW)
WORK = timedelta(minutes=40)  # from pre to post snapshot
CONFIG = """
[[people]]
name = "Budi Santoso"
nip = "198801142011011003"
roles = ["tim_data_center"]
os_user = "{user}"

[[people]]
name = "Sari Dewi"
nip = "198003152005012004"
roles = ["kepala_bidang"]

[[people]]
name = "Dr. Andi Wijaya"
nip = "197505202000031002"
roles = ["kepala_dinas"]

[organisation]
government = "Pemerintah Kota Contoh"
unit = "Dinas Komunikasi dan Informatika"
address = "Jl. Merdeka No. 1, Kota Contoh"
"""
RENDER = (
    "import sys; from weasyprint import HTML; HTML(filename=sys.argv[1]).write_pdf(sys.argv[2])"
)


# --- the ticket ------------------------------------------------------------------------------


def hostnames(count: int) -> list[str]:
    """This machine (the one `--probe local` can read) and COUNT-1 others."""
    return [ME, *(f"bench-srv{n:02d}" for n in range(1, count))]


def inventory(work: Path, factory: sessionmaker[Session], hosts: list[str]) -> Path:
    """HOSTS in the inventory of Dinas Uji; their components in a CSV (returned)."""
    servers = work / "inventory.csv"
    lines = [f"{h},10.30.{n // 250}.{n % 250 + 1},{h}.dinasuji.lab,Dinas Uji"
             for n, h in enumerate(hosts)]  # fmt: skip
    servers.write_text("hostname,ip,domain,opd\n" + "\n".join(lines) + "\n", encoding="utf-8")
    import_file(factory, servers, ACTOR)
    parts = work / "components.csv"
    rows = [f"{h},{kind},{model},{h.upper()}-{slot.replace(' ', '')},{slot},installed"
            for h in hosts for kind, model, slot in (
                ("disk", "ST4000", "bay 0"), ("disk", "ST4000", "bay 1"),
                ("memory", "M393A4K40DB3", "DIMM A1"), ("psu", "PWS-1K", "PSU1"))]  # fmt: skip
    parts.write_text("hostname,kind,model,serial,slot,status\n" + "\n".join(rows) + "\n",
                     encoding="utf-8")  # fmt: skip
    return parts


def run(base: list[str], env: dict[str, str], *args: str, allowed: tuple[int, ...] = (0,)) -> str:
    done = subprocess.run([*base, *args], capture_output=True, text=True, env=env, check=False)
    if done.returncode not in allowed:
        sys.exit(f"pelihara {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def variants(real: Snapshot, host: str, ref: str, start: datetime) -> list[Snapshot]:
    """HOST's pre snapshot at START and post snapshot WORK later: this machine's real facts
    under HOST's name, the pre side with disk bay 1, the post side with its replacement,
    and one package upgraded."""
    identity = dataclasses.replace(real.facts.identity, hostname=host, fqdn=f"{host}.dinasuji.lab")
    disks = real.facts.disks or ()
    old = Disk("sdy", 4000787030016, "ST4000", f"{host.upper()}-bay1", mounts=())
    new = Disk("sdy", 4000787030016, "ST4000", f"{host.upper()}-bay1-NEW", mounts=())
    packages = list(real.facts.packages or ())
    upgraded = [dataclasses.replace(p, version=p.version + "+deb1") for p in packages[:1]]
    sides = (("pre", (*disks, old), packages, start),
             ("post", (*disks, new), upgraded + packages[1:], start + WORK))  # fmt: skip
    return [
        dataclasses.replace(real, host=host, ticket=ref, phase=phase, taken_at=at,
                            facts=dataclasses.replace(real.facts, identity=identity,
                                                      disks=held, packages=tuple(pkgs)))
        for phase, held, pkgs, at in sides
    ]  # fmt: skip


def snapshots(factory: sessionmaker[Session], ref: str, hosts: list[str]) -> dict[str, datetime]:
    """Every host's pre and post snapshot from the one real capture; each host's pre time."""
    with transaction(factory) as session:
        row = session.scalars(
            select(SnapshotRecord).where(SnapshotRecord.ticket == "capture")
        ).one()
        real = snapshot_from_json(row.document)
        ids = {name: id_ for name, id_ in session.execute(select(Server.hostname, Server.id))}
        starts = {}
        for n, host in enumerate(hosts):
            starts[host] = real.taken_at - timedelta(hours=6) + n * timedelta(minutes=5)
            for snapshot in variants(real, host, ref, starts[host]):
                store_snapshot(session, ACTOR, ids[host], snapshot)
    return starts


def health(starts: dict[str, datetime]) -> int:
    """Health samples of each host around its snapshots in the embedded store: every SAMPLE
    from MARGIN before the pre snapshot to MARGIN after the post one, none while it is down
    (the middle of the work). The number of points written."""
    store, written = open_store(), 0
    try:
        for n, (host, start) in enumerate(sorted(starts.items())):
            points = list(_points(host, start, n))
            store.write(points)
            written += len(points)
    finally:
        store.close()
    return written


def _points(host: str, start: datetime, seed: int) -> list[Point]:
    down = (start + WORK / 4, start + WORK * 3 / 4)
    moment, found = start - MARGIN, []
    while moment <= start + WORK + MARGIN:
        if not down[0] <= moment <= down[1]:
            wave = (moment.minute + seed) % 30
            found += _sample(host, datetime_ns(moment), 20.0 + wave, 40.0 + wave / 3, wave / 10)
        moment += SAMPLE
    return found


def _sample(host: str, ns: int, cpu: float, memory: float, load: float) -> list[Point]:
    tags = {"host": host, "source": "agent"}
    return [
        Point("cpu", {**tags, "cpu": "total"}, {"usage_percent": cpu}, ns),
        Point("memory", tags, {"used_percent": memory}, ns),
        Point("filesystem", {**tags, "mount": "/"}, {"used_percent": 51.5}, ns),
        Point("filesystem", {**tags, "mount": "/var"}, {"used_percent": 63.0 + cpu / 100}, ns),
        Point("load", tags, {"load1": load}, ns),
    ]  # fmt: skip


def steps(factory: sessionmaker[Session], ref: str) -> None:
    """Steps 2 to 8 done (their own gates are not what is measured), an hour apart."""
    with transaction(factory) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        opened = ticket.created_at
        session.add_all(TicketStep(ticket_id=ticket.id, step=step, person_name="Budi Santoso",
                                   done_at=opened + timedelta(hours=step), actor=ACTOR)
                        for step in range(2, 9))  # fmt: skip


def build(work: Path, count: int, env: dict[str, str], report: Report) -> tuple[list[str], str]:
    """The ticket of COUNT servers at step 8; the pelihara command line and its reference."""
    started = time.perf_counter()
    engine, factory = fresh_database(work / "report.db")
    base = [*pelihara_command(), "--db", str(engine.url)]
    hosts = hostnames(count)
    parts = inventory(work, factory, hosts)
    run(base, env, "inventory", "import-components", str(parts))
    servers = [part for host in hosts for part in ("--server", host)]
    ref = run(base, env, "ticket", "new", "--letter", "005/DINUJI/XII/2026", "--letter-date",
              "2026-12-01", "--opd", "Dinas Uji", *servers, "--summary",
              "Ganti disk yang rusak").strip()  # fmt: skip
    run(base, env, "snapshot", "take", ME, "--probe", "local", "--ticket", "capture",
        "--phase", "pre")  # fmt: skip
    starts = snapshots(factory, ref, hosts)
    run(base, env, "snapshot", "diff", "--ticket", ref, allowed=(0, 1))
    points = health(starts)
    steps(factory, ref)
    with transaction(factory, commit=False) as session:
        diffs = session.scalar(select(func.count()).select_from(SnapshotDiffRecord))
    engine.dispose()
    report.add("build", f"ticket {ref}: {count} servers at step 8",
               seconds(time.perf_counter() - started),
               f"{2 * count} snapshots, {diffs} stored diffs, "
               f"{points:,} health points")  # fmt: skip
    return base, ref


# --- measurements ----------------------------------------------------------------------------


def measure(label: str, command: list[str], env: dict[str, str], report: Report) -> None:
    """COMMAND's first run apart (the report records itself on the ticket), then the median
    of RUNS more (the same document again: nothing new recorded)."""
    first = wall(command, env)
    times = [wall(command, env) for _ in range(RUNS)]
    report.add("commands", label, seconds(statistics.median(times)),
               f"median of {RUNS}, whole process; first run {seconds(first)}; "
               f"min {seconds(min(times))}, max {seconds(max(times))}")  # fmt: skip


def commands(base: list[str], ref: str, work: Path, env: dict[str, str], report: Report) -> None:
    for fmt in ("pdf", "html"):
        target = work / f"berita-acara.{fmt}"
        measure(f"pelihara report T --format {fmt}",
                [*base, "report", ref, "--format", fmt, "-o", str(target), "--force"], env,
                report)  # fmt: skip
    pages = _pages(work / "berita-acara.pdf")
    size = (work / "berita-acara.pdf").stat().st_size
    report.add("commands", "the PDF", f"{pages} pages", f"{size / 1024:,.0f} KiB; HTML "
               f"{(work / 'berita-acara.html').stat().st_size / 1024:,.0f} KiB")  # fmt: skip
    report.add("commands", "pelihara --version (start-up)",
               seconds(statistics.median(wall([*pelihara_command(), "--version"], env)
                                         for _ in range(RUNS))), f"median of {RUNS}")  # fmt: skip


def _pages(path: Path) -> str:
    """The PDF's page count as `pdfinfo` (poppler-utils) reads it; "?" without pdfinfo."""
    binary = shutil.which("pdfinfo")
    if binary is None:
        return "?"
    info = subprocess.run([binary, str(path)], capture_output=True, text=True, check=True).stdout
    return next((line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")),
                "?")  # fmt: skip


def baselines(work: Path, env: dict[str, str], report: Report) -> None:
    """WeasyPrint alone on the report's own HTML: in process and as a whole process."""
    from weasyprint import HTML

    html = (work / "berita-acara.html").read_text("utf-8")
    times = [timed(lambda: HTML(string=html).write_pdf())[0] for _ in range(RUNS)]
    report.add("baseline", "WeasyPrint: the report's HTML to PDF, in process",
               seconds(statistics.median(times)), f"median of {RUNS}")  # fmt: skip
    command = [sys.executable, "-c", RENDER, str(work / "berita-acara.html"),
               str(work / "floor.pdf")]  # fmt: skip
    report.add("baseline", "python -c 'weasyprint HTML(...).write_pdf()', whole process",
               seconds(statistics.median(wall(command, env) for _ in range(RUNS))),
               f"median of {RUNS}, import included")  # fmt: skip


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--servers", type=int, default=20, help="servers of the ticket")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="work here and keep the files")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("PELIHARA_AUDIT_KEY", secrets.token_hex(32))
    print_machine()
    print(f"load:     {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)")
    report, started = Report(), time.perf_counter()
    with work_dir(args.keep) as work:
        print(f"work dir: {work}{'' if args.keep else ' (removed at the end)'}", flush=True)
        (work / "pelihara.toml").write_text(CONFIG.format(user=getpass.getuser()), "utf-8")
        os.environ["PELIHARA_HOME"] = str(work / "home")  # the embedded store, attachments
        env = {**os.environ, "PELIHARA_CONFIG": str(work / "pelihara.toml"), "PELIHARA_ACTOR": ""}
        base, ref = build(work, args.servers, env, report)
        commands(base, ref, work, env, report)
        baselines(work, env, report)
    print()
    report.print()
    print(f"\ntoday: {date.today()}; total benchmark time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
