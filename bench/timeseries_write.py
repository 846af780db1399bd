"""Write throughput (points/s) into each time-series backend, beside the floor of each.

100,000 points (100 hosts x 4 CPUs x 250 timestamps, 4 numeric fields each) are written in
batches of 5,000 -- the spool's batch -- and only the writes are timed (points are built
before). Every row runs REPEAT times on fresh series; the table shows the median.

- sqlite floor: `sqlite3` executemany of the same rows, already serialised, into a plain table
  (no key, no index; WAL, synchronous=NORMAL like the store), one transaction per batch.
- SqliteStore: validation + canonical JSON + upsert on the (measurement, tags, time) key.
- line protocol only: `to_lines` of every batch, no I/O (the CPU the HTTP backends start with).
- VictoriaMetrics floor: urllib POST of the line-protocol bytes, serialised before -- what
  `curl --data-binary` does; also with the body gzipped before (the gzip not timed).
- VictoriaStore: serialise + gzip (level 1) + POST, stdlib urllib.
- InfluxStore: serialise + influxdb-client's SYNCHRONOUS write API (gzip level 9) to the same
  VictoriaMetrics (`/api/v2/write`).

VictoriaMetrics is started like the tests' fixture (tests/realservers/victoriametrics.py, with
`-dedup.minScrapeInterval=1ms`) and every row is checked: the server holds all its points.

    .venv/bin/python -m bench.timeseries_write [--points 100000] [--batch 5000] [--repeat 3]

(from the project root, as a module: it starts VictoriaMetrics with `tests.realservers`).
"""

from __future__ import annotations

import argparse
import atexit
import gzip
import json
import os
import platform
import shlex
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pelihara.core.canonical import canonical_json
from pelihara.timeseries.base import Point, Query
from pelihara.timeseries.influx import InfluxStore
from pelihara.timeseries.lineprotocol import to_lines
from pelihara.timeseries.sqlite import SqliteStore
from pelihara.timeseries.victoria import VictoriaStore
from tests.realservers.base import http_get
from tests.realservers.victoriametrics import (
    DEDUP_FLAG,
    VictoriaMetricsServer,
    running_victoriametrics,
)

HOSTS, CPUS = 100, 4
FIELDS = 4
Batches = list[list[Point]]


@dataclass(frozen=True)
class Row:
    name: str
    seconds: list[float]
    points: int
    floor: str | None = None  # the row this one is compared with

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rate(self) -> float:
        return self.points / self.median


def make_batches(measurement: str, total: int, batch: int, start_ns: int) -> Batches:
    """TOTAL points of MEASUREMENT from START_NS, one per host/cpu/second, in BATCH-sized lists."""
    points = []
    for i in range(total):
        second, series = divmod(i, HOSTS * CPUS)
        host, cpu = divmod(series, CPUS)
        fields = {"user": i % 97 / 3, "system": i % 13 / 7, "idle": 50.0 + i % 50, "runq": i % 9}
        tags = {"host": f"web{host:03d}.dc", "cpu": f"cpu{cpu}"}
        points.append(Point(measurement, tags, fields, start_ns + second * 1_000_000_000))
    return [points[i : i + batch] for i in range(0, total, batch)]


def timed(write: Callable[[list[Point]], object], batches: Batches) -> float:
    began = time.perf_counter()
    for points in batches:
        write(points)
    return time.perf_counter() - began


def sqlite_floor(path: Path, batches: Batches) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE plain (measurement TEXT, tags TEXT, time_ns INTEGER, fields TEXT)")
    rows = [
        [(p.measurement, canonical_json(p.tags), p.time_ns, canonical_json(p.fields)) for p in b]
        for b in batches
    ]
    began = time.perf_counter()
    for batch in rows:
        db.execute("BEGIN")
        db.executemany("INSERT INTO plain VALUES (?, ?, ?, ?)", batch)
        db.execute("COMMIT")
    seconds = time.perf_counter() - began
    db.close()
    return seconds


def post_floor(base_url: str, bodies: Sequence[bytes], gzipped: bool) -> float:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    headers = {"Content-Encoding": "gzip"} if gzipped else {}
    began = time.perf_counter()
    for body in bodies:
        request = urllib.request.Request(
            f"{base_url}/api/v2/write?precision=ns", data=body, headers=headers, method="POST"
        )
        with opener.open(request, timeout=30) as response:
            response.read()
    return time.perf_counter() - began


def count_samples(vm: VictoriaMetricsServer, measurement: str) -> int:
    """Samples VictoriaMetrics holds for MEASUREMENT (all its fields), from /api/v1/export."""
    vm.force_flush()
    query = urllib.parse.urlencode({"match[]": f'{{__name__=~"{measurement}_.+"}}'})
    body = http_get(f"{vm.base_url}/api/v1/export?{query}", timeout=120).decode()
    return sum(len(json.loads(line)["timestamps"]) for line in body.splitlines() if line)


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path, vm: VictoriaMetricsServer) -> None:
        self.args, self.work, self.vm = args, work, vm
        self.start_ns = (time.time_ns() // 10**9 - 3600) * 10**9  # inside the 1-day retention
        self.runs = 0

    def batches(self, name: str) -> tuple[str, Batches]:
        self.runs += 1
        measurement = f"bench_{name}_{self.runs}"
        return measurement, make_batches(
            measurement, self.args.points, self.args.batch, self.start_ns
        )

    def check_vm(self, measurement: str) -> None:
        found, wanted = count_samples(self.vm, measurement), self.args.points * FIELDS
        if found != wanted:
            raise SystemExit(f"{measurement}: VictoriaMetrics holds {found} samples, not {wanted}")

    def repeat(self, run: Callable[[], float]) -> list[float]:
        return [run() for _ in range(self.args.repeat)]

    def sqlite_floor(self) -> list[float]:
        def run() -> float:
            _, batches = self.batches("sqlfloor")
            return sqlite_floor(self.work / f"floor{self.runs}.db", batches)

        return self.repeat(run)

    def sqlite_store(self) -> list[float]:
        def run() -> float:
            measurement, batches = self.batches("sqlite")
            store = SqliteStore(f"sqlite:///{self.work / f'store{self.runs}.db'}")
            seconds = timed(store.write, batches)
            start = datetime.fromtimestamp(self.start_ns / 1e9, UTC)
            held = len(store.query(Query(measurement, start, start + timedelta(days=1))))
            store.close()
            if held != self.args.points:
                raise SystemExit(f"{measurement}: SqliteStore holds {held} points")
            return seconds

        return self.repeat(run)

    def serialise_only(self) -> list[float]:
        return self.repeat(lambda: timed(to_lines, self.batches("lp")[1]))

    def vm_floor(self, gzipped: bool) -> list[float]:
        def run() -> float:
            measurement, batches = self.batches("vmfloor")
            bodies = [to_lines(points) for points in batches]
            if gzipped:
                bodies = [gzip.compress(body, 1) for body in bodies]
            seconds = post_floor(self.vm.base_url, bodies, gzipped)
            self.check_vm(measurement)
            return seconds

        return self.repeat(run)

    def vm_store(self, make: Callable[[], VictoriaStore | InfluxStore]) -> list[float]:
        def run() -> float:
            measurement, batches = self.batches("store")
            store = make()
            seconds = timed(store.write, batches)
            store.close()
            self.check_vm(measurement)
            return seconds

        return self.repeat(run)


def rows(bench: Bench) -> list[Row]:
    port, total = bench.vm.port, bench.args.points
    victoria = f"victoriametrics://127.0.0.1:{port}?timeout=30"
    influx = f"influxdb://127.0.0.1:{port}?org=bench&bucket=bench&timeout=30"
    return [
        Row("sqlite3 executemany, plain table (floor)", bench.sqlite_floor(), total),
        Row("SqliteStore.write", bench.sqlite_store(), total, "sqlite3"),
        Row("line protocol serialise only (no I/O)", bench.serialise_only(), total),
        Row("urllib POST, plain body (VM floor)", bench.vm_floor(gzipped=False), total),
        Row("urllib POST, gzip body made before", bench.vm_floor(gzipped=True), total),
        Row("VictoriaStore.write", bench.vm_store(lambda: VictoriaStore(victoria)), total, "POST"),
        Row(
            "InfluxStore.write -> VictoriaMetrics",
            bench.vm_store(lambda: InfluxStore(influx)),
            total,
            "POST",
        ),
    ]


def print_table(table: list[Row], batch: int) -> None:
    floors = {"sqlite3": table[0], "POST": table[3]}
    head = ("backend", "points", "batches", "median s", "points/s", "vs floor")
    print(f"{head[0]:<40} {head[1]:>8} {head[2]:>7} {head[3]:>9} {head[4]:>10} {head[5]:>8}")
    print("-" * 87)
    for row in table:
        versus = f"{row.rate / floors[row.floor].rate:.2f}x" if row.floor else ""
        print(
            f"{row.name:<40} {row.points:>8} {row.points // batch:>7} {row.median:>9.3f}"
            f" {row.rate:>10,.0f} {versus:>8}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.pop("PELIHARA_INFLUX_TOKEN", None)
    empty, name = tempfile.mkstemp(suffix=".toml")  # an empty, 0600 file: no token, local VM
    os.close(empty)
    os.environ["PELIHARA_CREDENTIALS"] = name
    atexit.register(os.remove, name)
    print(f"command:  {shlex.join([sys.executable, *sys.argv])}")
    print(f"machine:  nproc {os.cpu_count()}, {platform.platform()}")
    print(f"python:   {platform.python_version()}, sqlite {sqlite3.sqlite_version}")
    with (
        tempfile.TemporaryDirectory(prefix="pelihara-bench-ts-") as work,
        running_victoriametrics(extra_flags=[DEDUP_FLAG]) as vm,
    ):
        print(f"victoria-metrics on {vm.base_url}, {DEDUP_FLAG}; median of {args.repeat} runs\n")
        table = rows(Bench(args, Path(work), vm))
    print_table(table, args.batch)


if __name__ == "__main__":
    main()
