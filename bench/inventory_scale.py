"""How pelihara's inventory scales: import, list and show on 10,000 and 100,000 servers.

Run from the project root with the project's virtual environment:

    .venv/bin/python bench/inventory_scale.py                # 10k import, 100k list/show
    .venv/bin/python bench/inventory_scale.py --rows 2000 --servers 20000 --keep /tmp/bench

Every number is wall-clock time on this machine. Subprocess numbers include Python start-up
(printed as its own row, `python -c pass`, for reference). Progress goes to stderr, the
results table to stdout.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import secrets
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pelihara import migrations
from pelihara.inventory.db import make_engine, session_factory, transaction
from pelihara.inventory.fields import COLUMN_NAMES
from pelihara.inventory.importer import import_file
from pelihara.inventory.queries import find_server, list_records

CHUNK_ROWS = 10_000
LOOKUPS = 200
SHOW_RUNS = 5
STARTUP_RUNS = 5
SEED = 20240601
ACTOR = "bench"

# The columns of examples/inventory.csv (every column but `status`).
CSV_COLUMNS = tuple(name for name in COLUMN_NAMES if name != "status")

OPDS = (
    "Dinas Komunikasi dan Informatika", "Dinas Kesehatan", "Dinas Pendidikan",
    "Dinas Kependudukan dan Pencatatan Sipil", "Badan Pengelolaan Keuangan dan Aset Daerah",
    "Badan Perencanaan Pembangunan Daerah", "Dinas Perhubungan", "Dinas Sosial",
    "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu", "Rumah Sakit Umum Daerah",
    "Badan Kepegawaian dan Pengembangan Sumber Daya Manusia", "Satuan Polisi Pamong Praja",
    "Dinas Pekerjaan Umum dan Penataan Ruang", "Dinas Lingkungan Hidup",
    "Dinas Perumahan dan Kawasan Permukiman", "Dinas Koperasi dan Usaha Mikro",
    "Dinas Perdagangan", "Dinas Perindustrian dan Tenaga Kerja", "Dinas Pariwisata",
    "Dinas Kebudayaan", "Dinas Pemuda dan Olahraga", "Dinas Ketahanan Pangan",
    "Dinas Pertanian", "Dinas Perikanan", "Dinas Pemberdayaan Perempuan dan Perlindungan Anak",
    "Dinas Pengendalian Penduduk dan Keluarga Berencana", "Dinas Perpustakaan dan Kearsipan",
    "Badan Pendapatan Daerah", "Badan Penanggulangan Bencana Daerah", "Inspektorat Daerah",
    "Sekretariat Daerah", "Sekretariat DPRD",
)  # fmt: skip
SLUGS = tuple(
    "".join(word[0] for word in name.lower().split() if word not in ("dan", "daerah"))[:8]
    + f"{index:02d}"
    for index, name in enumerate(OPDS)
)
SITES = ("DC Utama", "DRC Kantor Walikota", "DC Gedung B", "DC Kecamatan Timur")
HARDWARE = (
    ("Dell", "PowerEdge R650"), ("Dell", "PowerEdge R740"), ("HPE", "ProLiant DL380 Gen10"),
    ("HPE", "ProLiant DL360 Gen10"), ("Lenovo", "ThinkSystem SR650"),
    ("Fujitsu", "PRIMERGY RX2540 M5"), ("Supermicro", "SYS-1029P"),
)  # fmt: skip
SYSTEMS = ("Debian 12", "Ubuntu 22.04", "Ubuntu 20.04", "Rocky Linux 9", "Windows Server 2019")
ROLES = ("app", "web", "db", "api", "mail", "dns", "log", "bak", "k8s", "nvr")
NOTES = ("", "", "", "Aplikasi layanan publik", "Replika basis data, PostgreSQL 15", "Node kluster")
SERVERS_PER_RACK = 20  # at units 1, 3, 5, ... 39: every (site, rack, unit) is unique


# --- generated servers ---------------------------------------------------------------------


def hostname_of(index: int) -> str:
    return f"{SLUGS[index % len(SLUGS)]}-{ROLES[index // 7 % len(ROLES)]}{index:06d}"


def address_of(index: int) -> str:
    """The primary address: 10.a.b.c with c in 1..250, unique for index < 131,072,000."""
    rest, host = divmod(index, 250)
    return f"10.{rest // 256}.{rest % 256}.{host + 1}"


def _addresses(index: int) -> str:
    addresses = [address_of(index)]
    if index % 5 == 0:  # a management address in 10.200.0.0/13
        rest, host = divmod(index, 250)
        addresses.append(f"10.{200 + rest // 256}.{rest % 256}.{host + 1}")
    if index % 10 == 0:
        addresses.append(f"2001:db8:{index // 65536:x}:{index % 65536:x}::1")
    return " ".join(addresses)


def _row(index: int, rng: random.Random) -> list[str]:
    opd = index % len(OPDS)
    rack, slot = divmod(index, SERVERS_PER_RACK)
    vendor, model = HARDWARE[rng.randrange(len(HARDWARE))]
    system = SYSTEMS[rng.randrange(len(SYSTEMS))]
    windows = system.startswith("Windows")
    values = {
        "hostname": hostname_of(index),
        "ip": _addresses(index),
        "domain": f"{ROLES[index % len(ROLES)]}{index}.{SLUGS[opd]}.kotacontoh.go.id",
        "opd": OPDS[opd],
        "site": SITES[rack % len(SITES)],
        "rack": f"R{rack:05d}",
        "rack_unit": str(1 + 2 * slot),
        "vendor": vendor,
        "model": model,
        "serial": f"{vendor[:2].upper()}{rng.randrange(16**6):06X}{index:07d}",
        "asset_tag": f"KOMINFO/DC/{2018 + index % 7}/{index:06d}",
        "cpu_cores": str(rng.choice((8, 12, 16, 24, 32, 48, 64))),
        "memory_gb": rng.choice(("32", "64", "128", "192", "256", "384", "15,5")),
        "disk_gb": str(rng.choice((480, 960, 1920, 2400, 3840, 7680))),
        "os": system,
        "ssh_host": address_of(index) if index % 9 == 0 else "",
        "ssh_port": "" if windows else rng.choice(("22", "22", "2222")),
        "ssh_user": "" if windows else rng.choice(("opsdc", "pelihara")),
        "snmp_port": "161",
        "snmp_version": "2c" if windows else "3",
        "snmp_credential": "snmp-windows-v2c" if windows else "snmp-dc-v3",
        "notes": rng.choice(NOTES),
    }
    return [values[name] for name in CSV_COLUMNS]


def write_csv(path: Path, start: int, count: int) -> Path:
    """Servers START .. START+COUNT-1 as an inventory CSV (same for the same START)."""
    rng = random.Random(SEED + start)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(_row(index, rng) for index in range(start, start + count))
    return path


# --- helpers -------------------------------------------------------------------------------


@dataclass
class Report:
    """The results table: (section, measurement, value, note) rows."""

    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, section: str, what: str, value: str, note: str = "") -> None:
        self.rows.append((section, what, value, note))
        progress(f"  {what}: {value} {note}".rstrip())

    def print(self) -> None:
        header = ("", "measurement", "value", "note")
        widths = [max(len(row[i]) for row in [header, *self.rows]) for i in range(4)]
        line = "  ".join("-" * width for width in widths)
        print(_format(header, widths), line, sep="\n")
        section = ""
        for row in self.rows:
            shown = row if row[0] != section else ("", *row[1:])
            section = row[0]
            print(_format(shown, widths))


def _format(row: tuple[str, ...], widths: list[int]) -> str:
    cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2]), row[3]]
    return "  ".join(cells).rstrip()


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def seconds(value: float) -> str:
    return f"{value:.2f} s"


def millis(value: float) -> str:
    return f"{value * 1000:.2f} ms"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def fresh_path(path: Path) -> Path:
    """PATH with any earlier database (and its WAL files) removed."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def fresh_database(path: Path) -> tuple[Engine, sessionmaker[Session]]:
    engine = make_engine(sqlite_url(fresh_path(path)))
    migrations.upgrade(engine)
    return engine, session_factory(engine)


def pelihara_command() -> list[str]:
    script = Path(sys.executable).parent / "pelihara"
    if script.exists():
        return [str(script)]
    found = shutil.which("pelihara")
    if found is None:
        sys.exit("no `pelihara` command next to this Python or on PATH")
    return [found]


def run(command: list[str]) -> float:
    """Wall time of COMMAND, its output discarded; a failure stops the benchmark."""
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{shlex.join(command)} failed ({result.returncode}): {result.stderr.decode()}")
    return elapsed


def median_run(command: list[str], times: int) -> float:
    return statistics.median(run(command) for _ in range(times))


def cli(url: str, *args: str) -> list[str]:
    return [*pelihara_command(), "--db", url, "--actor", ACTOR, *args]


# --- measurements --------------------------------------------------------------------------


def bench_import(report: Report, work: Path, source: Path, rows: int) -> float:
    """In-process import_file into a fresh database, then the same through the CLI."""
    _, factory = fresh_database(work / "import.db")
    elapsed, summary = timed(lambda: import_file(factory, source, ACTOR))
    assert summary.created == rows, summary
    report.add(
        "import", "import_file (in-process)", seconds(elapsed), f"{rows / elapsed:,.0f} rows/s"
    )
    url = sqlite_url(fresh_path(work / "import-cli.db"))
    run(cli(url, "init"))
    wall = run(cli(url, "inventory", "import", str(source)))
    report.add("import", "pelihara inventory import (CLI)", seconds(wall), "wall, incl. start-up")
    return elapsed


def baseline_import(path: Path, database: Path) -> int:
    """The floor: csv module + sqlite3 executemany into a plain table, one transaction."""
    connection = sqlite3.connect(fresh_path(database))
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        with path.open(newline="", encoding="utf-8") as source:
            reader = csv.reader(source)
            header = next(reader)
            columns = ", ".join(f'"{name}"' for name in header)
            marks = ", ".join("?" for _ in header)
            with connection:
                connection.execute(f"CREATE TABLE server ({columns})")
                cursor = connection.executemany(f"INSERT INTO server VALUES ({marks})", reader)
        return cursor.rowcount
    finally:
        connection.close()


def bench_baseline(report: Report, work: Path, source: Path, pelihara_seconds: float) -> None:
    elapsed, count = timed(lambda: baseline_import(source, work / "baseline.db"))
    report.add("import", "baseline: csv + sqlite3.executemany", seconds(elapsed),
               f"{count / elapsed:,.0f} rows/s")  # fmt: skip
    report.add("import", "ratio pelihara / baseline", f"{pelihara_seconds / elapsed:,.0f}x")


def chunk_files(work: Path, servers: int) -> list[Path]:
    folder = work / "chunks"
    folder.mkdir(exist_ok=True)
    return [
        write_csv(folder / f"servers-{start:06d}.csv", start, min(CHUNK_ROWS, servers - start))
        for start in range(0, servers, CHUNK_ROWS)
    ]


def build_large(report: Report, work: Path, servers: int) -> tuple[Engine, sessionmaker[Session]]:
    """The big database, imported in chunks of CHUNK_ROWS through import_file."""
    files = chunk_files(work, servers)
    engine, factory = fresh_database(work / "large.db")
    times = []
    for number, path in enumerate(files, start=1):
        elapsed, _ = timed(partial(import_file, factory, path, ACTOR))
        times.append(elapsed)
        progress(f"  chunk {number}/{len(files)}: {elapsed:.2f} s")
    note = f"{len(files)} chunk(s); first {times[0]:.2f} s, last {times[-1]:.2f} s"
    report.add(f"{servers:,} servers", "build: import_file in chunks", seconds(sum(times)), note)
    return engine, factory


def consume_listing(factory: sessionmaker[Session]) -> int:
    with transaction(factory, commit=False) as session:
        return sum(1 for _ in list_records(session))


@contextmanager
def query_counter(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def bench_list(
    report: Report, engine: Engine, factory: sessionmaker[Session], servers: int
) -> None:
    section = f"{servers:,} servers"
    elapsed, count = timed(lambda: consume_listing(factory))
    assert count == servers, count
    report.add(section, "list_records, consumed (in-process)", seconds(elapsed),
               f"{count / elapsed:,.0f} records/s")  # fmt: skip
    with query_counter(engine) as statements:
        consume_listing(factory)
    report.add(section, "SQL queries in one full list_records", str(len(statements)))
    url = str(engine.url)
    for fmt in ("csv", "json"):
        wall = run(cli(url, "inventory", "list", "--format", fmt))
        report.add(section, f"inventory list --format {fmt} (CLI)", seconds(wall), "> /dev/null")


def lookup_times(factory: sessionmaker[Session], keys: list[str]) -> list[float]:
    """Seconds per find_server, each in its own session, as the CLI does it."""
    times = []
    for key in keys:
        start = time.perf_counter()
        with transaction(factory, commit=False) as session:
            find_server(session, key)
        times.append(time.perf_counter() - start)
    return times


def bench_find(
    report: Report, engine: Engine, factory: sessionmaker[Session], servers: int
) -> None:
    section = f"{servers:,} servers"
    picks = random.Random(SEED).sample(range(servers), min(LOOKUPS, servers))
    for label, key_of in (("hostname", hostname_of), ("IP address", address_of)):
        times = lookup_times(factory, [key_of(index) for index in picks])
        p95 = statistics.quantiles(times, n=20)[-1]
        report.add(section, f"find_server by {label}, median", millis(statistics.median(times)),
                   f"{len(times)} lookups, p95 {millis(p95)}")  # fmt: skip
    url = str(engine.url)
    wall = median_run(cli(url, "inventory", "show", hostname_of(picks[0])), SHOW_RUNS)
    report.add(section, "inventory show HOST (CLI), median", millis(wall), f"of {SHOW_RUNS} runs")


def bench_startup(report: Report) -> None:
    python = median_run([sys.executable, "-c", "pass"], STARTUP_RUNS)
    report.add("start-up", "python -c pass, median", millis(python), f"of {STARTUP_RUNS} runs")
    version = median_run([*pelihara_command(), "--version"], STARTUP_RUNS)
    report.add("start-up", "pelihara --version, median", millis(version), "imports, no database")


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the import file")
    parser.add_argument("--servers", type=int, default=100_000, help="servers of the big DB")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="work here and keep the files")
    return parser.parse_args(argv)


@contextmanager
def work_dir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="pelihara-bench-") as folder:
        yield Path(folder)


def print_machine() -> None:
    print(f"command:  {shlex.join([sys.executable, *sys.argv])}")
    print(f"machine:  nproc {os.cpu_count()}, {platform.platform()}, {platform.machine()}")
    print(f"python:   {platform.python_implementation()} {platform.python_version()}")
    print(f"sqlite:   {sqlite3.sqlite_version}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # A throw-away audit key for the benchmark's databases: `pelihara init` then writes none
    # into the user's credentials file, and the imports sign their entries as usual.
    os.environ.setdefault("PELIHARA_AUDIT_KEY", secrets.token_hex(32))
    print_machine()
    report = Report()
    started = time.perf_counter()
    with work_dir(args.keep) as work:
        print(f"work dir: {work}{'' if args.keep else ' (removed at the end)'}", flush=True)
        source = write_csv(work / f"inventory-{args.rows}.csv", 0, args.rows)
        progress(f"import of {args.rows:,} rows")
        pelihara_seconds = bench_import(report, work, source, args.rows)
        bench_baseline(report, work, source, pelihara_seconds)
        progress(f"building a database of {args.servers:,} servers")
        engine, factory = build_large(report, work, args.servers)
        bench_list(report, engine, factory, args.servers)
        bench_find(report, engine, factory, args.servers)
        bench_startup(report)
    print()
    report.print()
    print(f"\ntotal benchmark time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
