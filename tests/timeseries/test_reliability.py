"""The spool against a REAL VictoriaMetrics that is stopped, restarted, or never answers.

Every point that `Spool.add` acknowledged must reach the store exactly once, whatever happens
to the store or to the writer process. "Exactly once" is read from `/api/v1/export`, which
shows every stored sample; re-sent batches collapse because the instances run with
`-dedup.minScrapeInterval=1ms` (see `victoria_instance.py`).
"""

from __future__ import annotations

import random
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pelihara.timeseries import open_store
from pelihara.timeseries.base import StoreUnavailable
from pelihara.timeseries.spool import FlushResult, Spool, decode
from tests.timeseries.spool_writer import METRIC, expected_ms, numbered_points
from tests.timeseries.victoria_instance import VictoriaInstance, victoria_instance

ROOT = Path(__file__).resolve().parents[2]
WRITER_TIMEOUT_SECONDS = 120.0
STORE_TIMEOUT_SECONDS = 2.0


def recent_base_ns() -> int:
    """Half an hour ago, whole seconds: inside the 1-day retention, never in the future."""
    return (time.time_ns() // 1_000_000_000 - 1800) * 1_000_000_000


def selector(run: str) -> str:
    return f'{METRIC}{{run="{run}"}}'


@dataclass
class Writer:
    """A `tests.timeseries.spool_writer` process; its lines go to a file, read while it runs."""

    process: subprocess.Popen[bytes]
    out: Path

    def lines(self) -> list[str]:
        return self.out.read_text(encoding="utf-8").splitlines()

    def wait_for_line(self, wanted: str, timeout: float) -> bool:
        """True once the writer printed WANTED; False if it exited or TIMEOUT passed first."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if wanted in self.lines():
                return True
            if self.process.poll() is not None:
                return wanted in self.lines()
            time.sleep(0.002)
        return False

    def last_acknowledged(self) -> int:
        """The highest point number an add acknowledged (-1: none)."""
        added = [int(line.split()[1]) for line in self.lines() if line.startswith("added ")]
        return max(added, default=-1)

    def flush_errors(self) -> list[str]:
        return [line.split()[3] for line in self.lines() if line.startswith("flush ")]

    def finish(self) -> int:
        return self.process.wait(WRITER_TIMEOUT_SECONDS)


@pytest.fixture
def writers() -> Iterator[list[Writer]]:
    """Writer processes started by a test; any still running at the end are killed."""
    started: list[Writer] = []
    yield started
    for writer in started:
        if writer.process.poll() is None:
            writer.process.kill()
            writer.process.wait(10)


def start_writer(writers: list[Writer], out: Path, *args: object) -> Writer:
    argv = [sys.executable, "-m", "tests.timeseries.spool_writer", *map(str, args)]
    with out.open("wb") as sink:
        process = subprocess.Popen(argv, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    writer = Writer(process, out)
    writers.append(writer)
    return writer


def assert_exactly_once(vm: VictoriaInstance, run: str, base_ns: int, seqs: range) -> None:
    stamps = vm.timestamps_ms(selector(run))
    assert len(stamps) == len(set(stamps)), "some point is stored twice"
    assert stamps == expected_ms(base_ns, seqs)


def test_every_point_arrives_once_across_store_restarts(
    tmp_path: Path, writers: list[Writer]
) -> None:
    count, run, base_ns = 3000, f"restarts-{uuid.uuid4().hex[:8]}", recent_base_ns()
    with victoria_instance(tmp_path / "vm") as vm:
        writer = start_writer(
            writers, tmp_path / "writer.out",
            "--spool", tmp_path / "spool.db", "--store", vm.store_url(STORE_TIMEOUT_SECONDS),
            "--run", run, "--base-ns", base_ns, "--count", count,
            "--chunk", 100, "--batch", 250, "--pause", 0.25,
        )  # fmt: skip
        restarts = 0
        for _ in range(4):  # bounded: ~4 x 1.5 s, while the writer adds for ~8 s
            time.sleep(0.8)
            if writer.process.poll() is not None:
                break
            vm.stop()
            time.sleep(0.5)
            vm.start()
            restarts += 1
        assert writer.finish() == 0, "\n".join(writer.lines()[-20:])
        assert restarts >= 3, "the writer finished before the store was restarted"
        assert "StoreUnavailable" in writer.flush_errors(), "no flush ever met the store down"
        assert writer.lines()[-1] == "done 0 0"
        assert_exactly_once(vm, run, base_ns, range(count))


def spooled_seqs(path: Path) -> set[int]:
    """Numbers of the points still in a spool file (read raw: its writer was killed)."""
    with sqlite3.connect(path) as db:
        bodies = db.execute("SELECT body FROM points").fetchall()
    return {int(decode(body).fields["seq"]) for (body,) in bodies}


@dataclass
class KillOutcome:
    killed_mid_flush: bool  # flush-start printed, flush-done not
    resent_acknowledged: bool  # the store had points that the spool still held (ack, no delete)
    flush_seconds: float  # from flush-start to the kill or to flush-done


def kill_during_flush(
    vm: VictoriaInstance,
    writers: list[Writer],
    work: Path,
    kill_after: float | str | None,
    hold_after_ack: float = 0.0,
) -> KillOutcome:
    """Run a writer that adds 20,000 points then flushes them in 20 batches; SIGKILL it when
    KILL_AFTER (seconds into the flush, or a line it printed; None: never) comes.

    Then flush what its spool kept, and check: every acknowledged point stored, none twice.
    """
    count, run, base_ns = 20_000, f"kill-{uuid.uuid4().hex[:8]}", recent_base_ns()
    spool_path, store_url = work / f"{run}.db", vm.store_url(STORE_TIMEOUT_SECONDS)
    writer = start_writer(
        writers, work / f"{run}.out",
        "--spool", spool_path, "--store", store_url, "--run", run, "--base-ns", base_ns,
        "--count", count, "--chunk", 2000, "--batch", 1000, "--mode", "add-then-flush",
        "--hold-after-ack", hold_after_ack,
    )  # fmt: skip
    assert writer.wait_for_line("flush-start", WRITER_TIMEOUT_SECONDS), writer.lines()[-5:]
    started = time.monotonic()
    if kill_after is None:
        writer.wait_for_line("flush-done", WRITER_TIMEOUT_SECONDS)
    elif isinstance(kill_after, str):
        assert writer.wait_for_line(kill_after, WRITER_TIMEOUT_SECONDS), writer.lines()[-5:]
    else:
        time.sleep(kill_after)
    writer.process.kill()
    writer.finish()
    took = time.monotonic() - started
    still_spooled = set(expected_ms(base_ns, spooled_seqs(spool_path)))
    resent = bool(still_spooled & set(vm.timestamps_ms(selector(run))))
    recover_and_check(vm, spool_path, store_url, run, base_ns, writer.last_acknowledged())
    return KillOutcome("flush-done" not in writer.lines(), resent, took)


def recover_and_check(
    vm: VictoriaInstance, spool_path: Path, store_url: str, run: str, base_ns: int, acked: int
) -> None:
    """Flush what a killed writer left; points 0..ACKED must be stored, none twice."""
    store = open_store(store_url)
    with Spool(spool_path, store) as spool:
        result = spool.flush()
    store.close()
    assert (result.error, result.pending) == (None, 0)
    stamps = vm.timestamps_ms(selector(run))
    assert len(stamps) == len(set(stamps)), "some point is stored twice"
    assert set(expected_ms(base_ns, range(acked + 1))) <= set(stamps)
    assert set(stamps) <= set(expected_ms(base_ns, range(20_000)))


def test_writer_killed_at_random_in_a_flush_loses_and_duplicates_nothing(
    tmp_path: Path, writers: list[Writer]
) -> None:
    with victoria_instance(tmp_path / "vm") as vm:
        calibration = kill_during_flush(vm, writers, tmp_path, kill_after=None)
        outcomes: list[KillOutcome] = []
        for _ in range(8):  # bounded; about 9 kills in 10 land inside the flush
            delay = random.uniform(0.1, 0.9) * calibration.flush_seconds
            outcomes.append(kill_during_flush(vm, writers, tmp_path, kill_after=delay))
            if outcomes[-1].killed_mid_flush:
                break
    assert any(o.killed_mid_flush for o in outcomes), f"no kill landed in a flush: {outcomes}"


def test_writer_killed_between_ack_and_delete_resends_once(
    tmp_path: Path, writers: list[Writer]
) -> None:
    # A random kill rarely hits this window (a few ms of a ~50 ms batch, most of which is the
    # client's CPU): the writer holds still 0.5 s after each ack, and is killed in there.
    with victoria_instance(tmp_path / "vm") as vm:
        outcome = kill_during_flush(vm, writers, tmp_path, kill_after="acked 3", hold_after_ack=0.5)
    assert outcome == KillOutcome(True, True, outcome.flush_seconds)


def test_store_down_past_the_cap_drops_exactly_the_oldest(tmp_path: Path) -> None:
    cap, count, run, base_ns = 1000, 1500, f"cap-{uuid.uuid4().hex[:8]}", recent_base_ns()
    with victoria_instance(tmp_path / "vm", started=False) as vm:  # down: its port refuses
        store = open_store(vm.store_url(STORE_TIMEOUT_SECONDS))
        with Spool(tmp_path / "spool.db", store, cap=cap, batch=300) as spool:
            for first in range(0, count, 250):
                spool.add(numbered_points(run, base_ns, first, 250))
                assert isinstance(spool.flush(force=True).error, StoreUnavailable)
            stats = spool.stats()
            assert (stats.pending, stats.dropped_over_cap) == (cap, count - cap)
            vm.start()
            assert spool.flush(force=True) == FlushResult(sent=cap, rejected=0, pending=0)
        store.close()
        assert_exactly_once(vm, run, base_ns, range(count - cap, count))


def test_store_that_never_answers_does_not_hang_the_flush(tmp_path: Path) -> None:
    # A real store cannot be made to hang: a socket that listens and is never accepted from
    # or read does (the kernel completes the handshake and buffers what it can).
    timeout = 1.0
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        store = open_store(f"victoriametrics://127.0.0.1:{silent.getsockname()[1]}?timeout=1")
        spool = Spool(tmp_path / "spool.db", store)
        spool.add(numbered_points("silent", recent_base_ns(), 0, 5000))
        results: list[FlushResult] = []
        flushing = threading.Thread(target=lambda: results.append(spool.flush()), daemon=True)
        flushing.start()
        flushing.join(timeout + 2)  # bounds the test, asserts no performance
        assert not flushing.is_alive(), f"flush still running {timeout + 2} s after it started"
        spool.close()
        store.close()
    (result,) = results
    assert isinstance(result.error, StoreUnavailable)
    assert (result.sent, result.pending) == (0, 5000)
