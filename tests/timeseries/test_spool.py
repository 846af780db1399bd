"""The spool against the real SQLite store: order, cap, refused points, errors, backoff, crashes.

Refused points are real: the SQLite store refuses what line protocol cannot carry. Faults a
real store does not produce on demand (an outage at one exact write, a crash right after an
ack) come from the wrappers in `store_wrappers.py`, around the real store. The auth error is a
real 401 from VictoriaMetrics with basic auth on; the refused connection a real closed port.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pelihara.timeseries import open_store
from pelihara.timeseries.base import Point, Query, Store, StoreAuthError, StoreUnavailable
from pelihara.timeseries.spool import (
    BACKOFF_MAX_SECONDS,
    FlushResult,
    Spool,
    backoff_seconds,
    decode,
    encode,
)
from tests.realservers.base import free_port
from tests.timeseries.store_wrappers import (
    CrashAfterAckStore,
    OutageStore,
    SimulatedCrash,
    StoreWrapper,
    TimedStore,
)
from tests.timeseries.victoria_instance import victoria_instance

BASE_NS = 1_700_000_000_000_000_000
EVER = Query("m", datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
ROOT = Path(__file__).resolve().parents[2]


def point(seq: int, **fields: float | int | str | bool) -> Point:
    """Point number SEQ of series m{host=h1}, one second apart."""
    return Point("m", {"host": "h1"}, {"seq": seq, **fields}, BASE_NS + seq * 1_000_000_000)


def points(first: int, count: int) -> list[Point]:
    return [point(seq) for seq in range(first, first + count)]


def seqs(found: list[Point]) -> list[object]:
    return [p.fields["seq"] for p in found]


class ManualClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float = 1.0) -> None:
        self.now += seconds


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield store
    store.close()


@pytest.fixture
def spool_path(tmp_path: Path) -> Path:
    return tmp_path / "spool" / "spool.db"


def test_encode_keeps_field_types_exact() -> None:
    fields = {"i": 3, "f": 3.0, "s": "3", "b": True, "zero": 0, "big": 2**62 + 1, "neg": -0.5}
    original = Point("m", {"host": "h1"}, fields, BASE_NS + 1)
    back = decode(encode(original))
    assert back == original
    assert {k: type(v) for k, v in back.fields.items()} == {k: type(v) for k, v in fields.items()}


def test_field_types_survive_spool_and_store(spool_path: Path, sqlite_store: Store) -> None:
    fields = {"i": 3, "f": 3.0, "s": "3", "b": False, "big": 2**62 + 1}
    with Spool(spool_path, sqlite_store) as spool:
        spool.add([point(0, **fields)])
        assert spool.flush() == FlushResult(sent=1, rejected=0, pending=0)
    (found,) = sqlite_store.query(EVER)
    assert found == point(0, **fields)
    types = {"seq": int, "i": int, "f": float, "s": str, "b": bool, "big": int}
    assert {k: type(v) for k, v in found.fields.items()} == types


def test_flush_sends_in_arrival_order_in_batches(spool_path: Path, sqlite_store: Store) -> None:
    store = StoreWrapper(sqlite_store)
    arrival = points(20, 5) + points(0, 5) + points(10, 4)  # not in time order on purpose
    with Spool(spool_path, store, batch=4) as spool:
        for first in range(0, len(arrival), 5):
            spool.add(arrival[first : first + 5])
        assert spool.stats().pending == 14
        assert spool.flush() == FlushResult(sent=14, rejected=0, pending=0)
    assert [len(batch) for batch in store.writes] == [4, 4, 4, 2]
    assert [p for batch in store.writes for p in batch] == arrival
    assert seqs(sqlite_store.query(EVER)) == sorted(seqs(arrival))  # type: ignore[type-var]


def test_empty_add_and_flush(spool_path: Path, sqlite_store: Store) -> None:
    store = StoreWrapper(sqlite_store)
    with Spool(spool_path, store) as spool:
        assert spool.add([]) == 0
        assert spool.flush() == FlushResult(sent=0, rejected=0, pending=0)
    assert store.writes == []


def test_spool_file_is_wal_with_full_sync(spool_path: Path, sqlite_store: Store) -> None:
    with Spool(spool_path, sqlite_store) as spool:
        # synchronous is per connection: read it from the spool's own (FULL = 2).
        assert spool._db.execute("PRAGMA synchronous").fetchone()[0] == 2
        with sqlite3.connect(spool_path) as other:
            assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_cap_drops_oldest_and_counts_exactly(spool_path: Path, sqlite_store: Store) -> None:
    with Spool(spool_path, sqlite_store, cap=10) as spool:
        assert spool.add(points(0, 6)) == 0
        assert spool.add(points(6, 6)) == 2
        assert spool.add(points(12, 25)) == 25  # more than the cap in one add
        stats = spool.stats()
        assert stats.pending == 10
        assert stats.dropped_over_cap == stats.dropped_over_cap_since_report == 27
        assert spool.report().dropped_over_cap_since_report == 27
        assert spool.stats().dropped_over_cap_since_report == 0
        assert spool.add(points(37, 3)) == 3
        with sqlite3.connect(spool_path) as raw:  # pending is counted from the id range
            assert raw.execute("SELECT COUNT(*) FROM points").fetchone()[0] == 10
        assert spool.stats().pending == 10
        assert spool.flush() == FlushResult(sent=10, rejected=0, pending=0)
    assert seqs(sqlite_store.query(EVER)) == list(range(30, 40))
    with Spool(spool_path, sqlite_store, cap=10) as reopened:  # the counters are in the file
        stats = reopened.stats()
        assert (stats.dropped_over_cap, stats.dropped_over_cap_since_report) == (30, 3)


def test_refused_points_are_set_aside_and_the_rest_written(
    spool_path: Path, sqlite_store: Store
) -> None:
    store = StoreWrapper(sqlite_store)  # the real SQLite store refuses an empty tag value
    added = [point(seq) for seq in range(20)]
    for seq in (3, 11):
        added[seq] = Point("m", {"host": ""}, {"seq": seq}, added[seq].time_ns)
    with Spool(spool_path, store, batch=8) as spool:
        spool.add(added)
        assert spool.flush() == FlushResult(sent=18, rejected=2, pending=0)
        rejected = spool.rejected_points()
        assert [r.point for r in rejected] == [added[3], added[11]]
        assert all("'host' has no value" in r.reason for r in rejected), rejected
        assert spool.stats().rejected == 2
        writes = len(store.writes)
        assert writes <= 2 * 2 * 4  # bisection: about 2 log2(batch) writes per refused point
        spool.add([point(20)])
        assert spool.flush() == FlushResult(sent=1, rejected=0, pending=0)
        assert store.writes[writes:] == [[point(20)]]  # the refused are never sent again
    assert seqs(sqlite_store.query(EVER)) == [s for s in range(21) if s not in (3, 11)]


def test_auth_error_keeps_everything_and_raises(tmp_path: Path, spool_path: Path) -> None:
    with victoria_instance(tmp_path / "vm", basic_auth=("spool", "secret")) as vm:
        store = OutageStore(open_store(vm.store_url()))  # no credentials: a real 401
        with Spool(spool_path, store, batch=3) as spool:
            spool.add(points(0, 7))
            store.down = True
            assert spool.flush().error is not None  # a backoff of about 1 s starts
            store.down = False
            for force in (True, False, False):  # no backoff after an auth error: it says so again
                with pytest.raises(StoreAuthError):
                    spool.flush(force=force)
            stats = spool.stats()
            assert stats.pending == 7
            assert isinstance(stats.last_error, StoreAuthError)
        store.close()


def test_refused_connection_is_unavailable_and_keeps_points(spool_path: Path) -> None:
    store = open_store(f"victoriametrics://127.0.0.1:{free_port()}?timeout=2")  # nobody there
    with Spool(spool_path, store) as spool:
        spool.add(points(0, 5))
        result = spool.flush()
        assert isinstance(result.error, StoreUnavailable)
        assert (result.sent, result.pending, result.deferred) == (0, 5, False)
        assert spool.stats().last_error is result.error
    store.close()


def test_backoff_doubles_to_five_minutes_and_resets(spool_path: Path, sqlite_store: Store) -> None:
    clock, store = ManualClock(), OutageStore(sqlite_store)
    store.down = True
    with Spool(spool_path, store, clock=clock, jitter=lambda: 0.0) as spool:
        spool.add(points(0, 3))
        delays = [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
        assert spool.flush().error is not None
        for delay in delays:
            clock.advance(delay - 0.001)
            before = len(store.writes)
            assert spool.flush().deferred, f"flushed before the {delay} s backoff passed"
            assert len(store.writes) == before
            clock.advance(0.001)
            result = spool.flush()
            assert (result.deferred, type(result.error)) == (False, StoreUnavailable)
        assert spool.flush(force=True).deferred is False  # force ignores the backoff
        store.down = False
        assert spool.flush(force=True) == FlushResult(sent=3, rejected=0, pending=0)
        assert spool.stats().last_error is None
        store.down = True
        spool.add(points(3, 1))
        spool.flush()
        clock.advance(1.0)  # back to the first delay after a success
        assert spool.flush().deferred is False


def test_backoff_jitter_only_shortens() -> None:
    assert [backoff_seconds(n, 0.0) for n in (1, 2, 3, 9, 10, 50)] == [1, 2, 4, 256, 300, 300]
    assert backoff_seconds(1, 1.0) == pytest.approx(0.8)
    assert backoff_seconds(100, 1.0) == pytest.approx(0.8 * BACKOFF_MAX_SECONDS)


def test_deadline_is_checked_between_batches(spool_path: Path, sqlite_store: Store) -> None:
    clock = ManualClock()
    store = TimedStore(sqlite_store, clock.advance)  # every write "takes" 1 s
    with Spool(spool_path, store, batch=2, clock=clock) as spool:
        spool.add(points(0, 10))
        assert spool.flush(deadline=clock.now + 2.5) == FlushResult(sent=6, rejected=0, pending=4)
        assert spool.flush(deadline=clock.now) == FlushResult(sent=0, rejected=0, pending=4)
        assert spool.flush(deadline=clock.now + 100) == FlushResult(sent=4, rejected=0, pending=0)


def test_crash_after_ack_resends_the_batch_once(spool_path: Path, sqlite_store: Store) -> None:
    with Spool(spool_path, CrashAfterAckStore(sqlite_store, crash_at=2), batch=5) as spool:
        spool.add(points(0, 12))
        with pytest.raises(SimulatedCrash):
            spool.flush()
    with Spool(spool_path, sqlite_store, batch=5) as restarted:
        assert restarted.stats().pending == 7  # batch 2 was stored but not deleted
        assert restarted.flush() == FlushResult(sent=7, rejected=0, pending=0)
    assert seqs(sqlite_store.query(EVER)) == list(range(12))  # the store kept batch 2 once


WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from pelihara.timeseries import open_store
    from pelihara.timeseries.base import Point
    from pelihara.timeseries.spool import Spool
    spool = Spool(Path(sys.argv[1]), open_store(sys.argv[2]))
    for chunk in range(20):
        spool.add(Point("m", {}, {"seq": n}, n) for n in range(chunk * 50, chunk * 50 + 50))
        print(chunk * 50 + 49, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_acknowledged_adds_survive_sigkill(tmp_path: Path, spool_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    done = subprocess.run(
        [sys.executable, "-c", WRITER, str(spool_path), store_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    last_acknowledged = int(done.stdout.split()[-1])
    store = open_store(store_url)
    with Spool(spool_path, store) as spool:
        assert spool.stats().pending == last_acknowledged + 1 == 1000
    store.close()
    assert os.path.exists(spool_path)
