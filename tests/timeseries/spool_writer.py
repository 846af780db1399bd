"""A writer process for the reliability tests: numbered points through a Spool into a store.

Run as `python -m tests.timeseries.spool_writer ...`. It prints one line per event, flushed at
once, so the test knows what was acknowledged even if the process is killed:

    added SEQ            every point up to number SEQ is acknowledged by Spool.add
    flush SENT PENDING ERROR   one flush attempt (ERROR is the error's class name or -)
    flush-start / flush-done   around the single big flush of `--mode add-then-flush`
    acked N              (with --hold-after-ack) the store acknowledged write number N
    done PENDING DROPPED

Point number SEQ is `spool_seq,run=RUN seq=SEQi` at BASE_NS + SEQ ms, so in VictoriaMetrics it
is metric `spool_seq_seq{run="RUN"}` at timestamp BASE_MS + SEQ.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from pelihara.timeseries import open_store
from pelihara.timeseries.base import Point, Store
from pelihara.timeseries.spool import FlushResult, Spool
from tests.timeseries.store_wrappers import StoreWrapper

MEASUREMENT = "spool_seq"
METRIC = "spool_seq_seq"  # VictoriaMetrics: measurement + "_" + field
STEP_NS = 1_000_000  # one point per millisecond: VictoriaMetrics keeps ms


def numbered_points(run: str, base_ns: int, first: int, count: int) -> list[Point]:
    """Points number FIRST .. FIRST+COUNT-1 of RUN."""
    return [
        Point(MEASUREMENT, {"run": run}, {"seq": seq}, base_ns + seq * STEP_NS)
        for seq in range(first, first + count)
    ]


def expected_ms(base_ns: int, seqs: Iterable[int]) -> list[int]:
    """The VictoriaMetrics timestamps of the points numbered SEQS, in order."""
    return sorted((base_ns + seq * STEP_NS) // 1_000_000 for seq in seqs)


def say(*words: object) -> None:
    print(*words, flush=True)


class HoldingStore(StoreWrapper):
    """After each acknowledged write: say `acked N`, then hold still before the spool deletes.

    Widens the ack-to-delete window (a few ms: the client's own CPU is most of a batch) so
    that a SIGKILL lands in it for sure, as it would if the writer were descheduled there.
    """

    def __init__(self, inner: Store, hold_seconds: float) -> None:
        super().__init__(inner)
        self.hold_seconds = hold_seconds

    def write(self, points: Sequence[Point]) -> None:
        super().write(points)
        say("acked", len(self.writes))
        time.sleep(self.hold_seconds)


def _said_flush(result: FlushResult) -> None:
    error = type(result.error).__name__ if result.error else "-"
    say("flush", result.sent, result.pending, error)


def _add_chunks(spool: Spool, options: argparse.Namespace, flush_each: bool) -> None:
    for first in range(0, options.count, options.chunk):
        count = min(options.chunk, options.count - first)
        spool.add(numbered_points(options.run, options.base_ns, first, count))
        say("added", first + count - 1)
        if flush_each:
            _said_flush(spool.flush(deadline=time.monotonic() + 1.0))
            time.sleep(options.pause)


def _drain(spool: Spool, seconds: float) -> None:
    """Flush (ignoring the backoff) until nothing is pending or SECONDS have passed."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        result = spool.flush(deadline=end, force=True)
        _said_flush(result)
        if result.pending == 0:
            return
        time.sleep(0.1)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spool", type=Path, required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--base-ns", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--pause", type=float, default=0.0)
    parser.add_argument("--drain-seconds", type=float, default=60.0)
    parser.add_argument("--mode", choices=["steady", "add-then-flush"], default="steady")
    parser.add_argument("--hold-after-ack", type=float, default=0.0)
    options = parser.parse_args(argv)
    store = open_store(options.store)
    if options.hold_after_ack:
        store = HoldingStore(store, options.hold_after_ack)
    with Spool(options.spool, store, batch=options.batch) as spool:
        if options.mode == "steady":
            _add_chunks(spool, options, flush_each=True)
            _drain(spool, options.drain_seconds)
        else:
            _add_chunks(spool, options, flush_each=False)
            say("flush-start")
            _said_flush(spool.flush())
            say("flush-done")
        stats = spool.stats()
        say("done", stats.pending, stats.dropped_over_cap)
    store.close()


if __name__ == "__main__":
    main()
