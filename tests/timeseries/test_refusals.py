"""What the spool does with refused requests: a store that refuses every request, and points
a real VictoriaMetrics refuses; and the check of its de-duplication flag, once per spool.

The store "answering 400 to everything" (a wrong tenant, an auth proxy, a body limit) is a real
HTTP server on 127.0.0.1, answering every request as a misconfigured proxy does. Malformed points
are refused by the real VictoriaMetrics: a line longer than `-influx.maxLineSize` makes it
answer 400 to the whole request that holds it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from pelihara.timeseries import open_store
from pelihara.timeseries.base import (
    EveryRequestRefused,
    Point,
    RefusedRequest,
    StoreUnavailable,
)
from pelihara.timeseries.splitting import split
from pelihara.timeseries.spool import DEFAULT_SPLIT_BUDGET, FlushResult, Spool
from pelihara.timeseries.victoria import dedup_problem, flag_value
from tests.realservers.victoriametrics import (
    DEDUP_FLAG,
    VictoriaMetricsServer,
    running_victoriametrics,
)
from tests.timeseries.store_wrappers import StoreWrapper
from tests.timeseries.victoria_instance import victoria_instance

from . import NS_PER_MS, Answer, answering_server, recent_ns

PROXY_SAYS = b"no such tenant: 42 (vmauth)"
# Over the 64 KiB that VictoriaMetrics reads at once, and so over `-influx.maxLineSize=256`
# (a shorter line is read whole and taken); under the default maximum of 256 KiB.
LONG = "x" * 70_000


def numbered(run: str, count: int, long_every: int = 0) -> list[Point]:
    """COUNT points of series refusal{run=RUN}, one ms apart; every LONG_EVERY-th one with a
    tag too long for a store with a short maximum line (0: none)."""
    base = recent_ns()
    found = []
    for seq in range(count):
        tags = {"run": run}
        if long_every and seq % long_every == long_every - 1:
            tags["long"] = LONG
        found.append(Point("refusal", tags, {"seq": seq}, base + seq * NS_PER_MS))
    return found


def run_id() -> str:
    return uuid.uuid4().hex[:10]


def stored_seqs(export: list[dict[str, object]]) -> list[int]:
    """The `seq` values of every stored sample, duplicates included."""
    values: list[int] = []
    for series in export:
        found = series["values"]
        assert isinstance(found, list)
        values += [int(value) for value in found]
    return sorted(values)


# --- a store, or a proxy, that answers 400 to every request -----------------------------------


def test_store_answering_400_to_everything_keeps_every_point_and_fails_loudly(
    tmp_path: Path,
) -> None:
    answer = Answer(status=400, body=PROXY_SAYS)
    points = numbered(run_id(), 1000)
    with answering_server(answer) as port:
        store = open_store(f"victoriametrics://127.0.0.1:{port}?timeout=5")
        with Spool(tmp_path / "spool.db", store) as spool:
            spool.add(points)
            with pytest.raises(EveryRequestRefused, match="no such tenant: 42") as caught:
                spool.flush()
            assert "HTTP 400" in str(caught.value)
            stats = spool.stats()
            assert (stats.pending, stats.rejected) == (1000, 0)  # nothing set aside
            assert stats.last_error is caught.value
            assert 1 < len(answer.seen) <= 1 + DEFAULT_SPLIT_BUDGET  # bisected, within bounds

        # The same refusal again, also after a restart: the batch and its second half only.
        with Spool(tmp_path / "spool.db", store) as spool:
            for _ in range(2):
                asked = len(answer.seen)
                with pytest.raises(EveryRequestRefused, match=r"all 2 request\(s\)"):
                    spool.flush()
                assert len(answer.seen) == asked + 2
            assert (spool.stats().pending, spool.stats().rejected) == (1000, 0)

            answer.status = 204  # the proxy is fixed
            assert spool.flush() == FlushResult(sent=1000, rejected=0, pending=0)
        store.close()


def test_one_point_refused_by_a_store_that_refuses_everything_is_kept(tmp_path: Path) -> None:
    answer = Answer(status=400, body=b"request body too large")
    with answering_server(answer) as port:
        store = open_store(f"victoriametrics://127.0.0.1:{port}")
        with Spool(tmp_path / "spool.db", store) as spool:
            spool.add(numbered(run_id(), 1))
            with pytest.raises(EveryRequestRefused, match="body too large"):
                spool.flush()
            assert (spool.stats().pending, spool.stats().rejected) == (1, 0)
        store.close()


def test_a_flush_spends_at_most_its_split_budget(tmp_path: Path) -> None:
    answer = Answer(status=400, body=PROXY_SAYS)
    with answering_server(answer) as port:
        store = open_store(f"victoriametrics://127.0.0.1:{port}")
        with Spool(tmp_path / "spool.db", store, batch=100, split_budget=5) as spool:
            spool.add(numbered(run_id(), 1000))
            with pytest.raises(EveryRequestRefused, match=r"all 6 request\(s\)"):
                spool.flush()
            assert len(answer.seen) == 6
            assert spool.stats().pending == 1000
        store.close()


def test_split_settles_a_prefix_within_its_budget() -> None:
    """Left half first: whatever the budget, the settled points are the first ones, and every
    refused point found is among them (no store: `split` takes any write function)."""
    points = numbered("split", 16)
    bad = {3, 12}

    def write(part: Sequence[Point]) -> None:
        if any(int(point.fields["seq"]) in bad for point in part):
            raise RefusedRequest(part, "HTTP 400: bad line")

    for budget in range(1, 40):
        found = split(points, write, budget)
        assert found.requests <= budget
        assert all(index < found.settled for index, _ in found.refused)
        assert [index for index, _ in found.refused] == sorted(bad & set(range(found.settled)))
    complete = split(points, write, 40)
    assert (complete.settled, complete.accepted) == (16, True)
    assert complete.refused == [(3, "HTTP 400: bad line"), (12, "HTTP 400: bad line")]


# --- points that the real VictoriaMetrics refuses ---------------------------------------------


@pytest.fixture(scope="module")
def short_lines_vm() -> Iterator[VictoriaMetricsServer]:
    """VictoriaMetrics that refuses (400, the whole request) a line over 64 KiB."""
    with running_victoriametrics([DEDUP_FLAG, "-influx.maxLineSize=256"]) as server:
        yield server


def export(vm: VictoriaMetricsServer, run: str) -> list[dict[str, object]]:
    from tests.timeseries.test_victoria import export as raw_export

    vm.force_flush()
    return raw_export(vm.base_url, f'refusal_seq{{run="{run}"}}')


def test_malformed_point_is_set_aside_and_the_rest_written(
    tmp_path: Path, short_lines_vm: VictoriaMetricsServer
) -> None:
    run = run_id()
    points = numbered(run, 100, long_every=40)  # numbers 39 and 79 are too long
    store = open_store(f"victoriametrics://127.0.0.1:{short_lines_vm.port}")
    with Spool(tmp_path / "spool.db", store) as spool:
        spool.add(points)
        assert spool.flush() == FlushResult(sent=98, rejected=2, pending=0)
        refused = spool.rejected_points()
        assert [r.point for r in refused] == [points[39], points[79]]
        assert all(r.reason.startswith("HTTP 400:") for r in refused)
        assert all("too long line" in r.reason for r in refused), refused[0].reason
        assert len({r.reason for r in refused}) == 1  # without the client's port VM names
    store.close()
    assert stored_seqs(export(short_lines_vm, run)) == [s for s in range(100) if s not in (39, 79)]


def test_a_malformed_point_alone_waits_then_is_set_aside_among_good_ones(
    tmp_path: Path, short_lines_vm: VictoriaMetricsServer
) -> None:
    """One refused point is all the store can be asked about: it might be the request. Once
    good points come after it, the store takes them, and the point is known to be bad."""
    run = run_id()
    points = numbered(run, 21, long_every=21)  # only the last, number 20, too long
    store = open_store(f"victoriametrics://127.0.0.1:{short_lines_vm.port}")
    with Spool(tmp_path / "spool.db", store) as spool:
        spool.add(points[20:])
        with pytest.raises(EveryRequestRefused, match="too long line"):
            spool.flush()
        spool.add(points[:20])  # the next cycle's points
        assert spool.flush() == FlushResult(sent=20, rejected=1, pending=0)
        assert [r.point for r in spool.rejected_points()] == [points[20]]
    store.close()
    assert stored_seqs(export(short_lines_vm, run)) == list(range(20))


def test_splitting_is_bounded_per_flush_and_finishes_over_several(
    tmp_path: Path, short_lines_vm: VictoriaMetricsServer
) -> None:
    run, budget = run_id(), 6
    points = numbered(run, 60, long_every=6)  # 10 of 60 too long, spread out
    store = StoreWrapper(open_store(f"victoriametrics://127.0.0.1:{short_lines_vm.port}"))
    results: list[FlushResult] = []
    with Spool(tmp_path / "spool.db", store, split_budget=budget) as spool:
        spool.add(points)
        for _ in range(30):  # bounded: each flush settles at least a point
            before = len(store.writes)
            results.append(spool.flush())
            assert len(store.writes) - before <= 1 + budget
            if results[-1].pending == 0:
                break
        assert spool.stats().rejected == 10
    store.close()
    assert len(results) > 1, "one flush settled it all: the budget did not bind"
    assert all(result.error is None for result in results)
    assert sum(result.sent for result in results) == 50
    assert stored_seqs(export(short_lines_vm, run)) == [s for s in range(60) if s % 6 != 5]


def test_a_batch_left_without_budget_waits_for_the_next_flush(
    tmp_path: Path, short_lines_vm: VictoriaMetricsServer
) -> None:
    """The first batch's split spends the whole budget: the second, refused too, is not taken
    for a store refusing everything; it waits, and the next flush settles it."""
    run = run_id()
    points = numbered(run, 16, long_every=0)
    for seq in (3, 9):  # one too-long point in each batch of 8
        points[seq] = Point(
            "refusal", {"run": run, "long": LONG}, {"seq": seq}, points[seq].time_ns
        )
    store = open_store(f"victoriametrics://127.0.0.1:{short_lines_vm.port}")
    with Spool(tmp_path / "spool.db", store, batch=8, split_budget=6) as spool:
        spool.add(points)
        assert spool.flush() == FlushResult(sent=7, rejected=1, pending=8)
        assert spool.flush() == FlushResult(sent=7, rejected=1, pending=0)
    store.close()
    assert stored_seqs(export(short_lines_vm, run)) == [s for s in range(16) if s not in (3, 9)]


# --- the de-duplication flag that replays rely on, checked once -------------------------------


def test_flags_parsing() -> None:
    flags = '-httpListenAddr="127.0.0.1:8428"\n-dedup.minScrapeInterval="1ms"\n'
    assert flag_value(flags, "-dedup.minScrapeInterval") == "1ms"
    assert flag_value(flags, "-retentionPeriod") is None
    assert dedup_problem(flags, "u") is None
    assert "runs without it" in (dedup_problem("", "u") or "")
    assert "with -dedup.minScrapeInterval=0s" in (
        dedup_problem('-dedup.minScrapeInterval="0s"', "u") or ""
    )


def test_dedup_flag_present_gives_no_warning(
    tmp_path: Path, victoriametrics_server: VictoriaMetricsServer
) -> None:
    warnings: list[str] = []
    store = open_store(f"victoriametrics://127.0.0.1:{victoriametrics_server.port}")
    with Spool(tmp_path / "spool.db", store, warn=warnings.append) as spool:
        spool.add(numbered(run_id(), 3))
        assert spool.flush().sent == 3
    store.close()
    assert warnings == []


def test_dedup_flag_missing_is_warned_once_after_the_store_took_points(tmp_path: Path) -> None:
    warnings: list[str] = []
    with victoria_instance(tmp_path / "vm", dedup=False, started=False) as vm:
        store = open_store(vm.store_url(timeout_seconds=2))
        with Spool(tmp_path / "spool.db", store, warn=warnings.append) as spool:
            spool.add(numbered(run_id(), 3))
            assert isinstance(spool.flush().error, StoreUnavailable)
            assert warnings == []  # not checked while the store is down
            vm.start()
            for _ in range(3):
                assert spool.flush(force=True).error is None
                spool.add(numbered(run_id(), 3))
        store.close()
    (warning,) = warnings
    assert "runs without it" in warning
    assert "-dedup.minScrapeInterval=1ms" in warning
    assert "stored twice" in warning


def test_flags_that_cannot_be_read_are_warned_as_unchecked(tmp_path: Path) -> None:
    warnings: list[str] = []
    with running_victoriametrics([DEDUP_FLAG, "-flagsAuthKey=not-for-us"]) as vm:
        store = open_store(f"victoriametrics://127.0.0.1:{vm.port}")
        with Spool(tmp_path / "spool.db", store, warn=warnings.append) as spool:
            spool.add(numbered(run_id(), 3))
            spool.flush()
            spool.add(numbered(run_id(), 3))
            spool.flush()
        store.close()
    (warning,) = warnings
    assert warning.startswith("could not check")
    assert "HTTP 401" in warning
