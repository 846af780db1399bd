"""`pelihara tsdb spool`: what waits, what was set aside and why, and the replay after a fix.

The story is real: a VictoriaMetrics run with a line limit too small for some points
(`-influx.maxLineSize=256`) refuses them; they are set aside; it is restarted with the limit
raised (the fix), and `--replay` sends them. A store that answers 400 to everything is a real
HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pelihara.cli.main import cli
from pelihara.timeseries import open_store, spool_path
from pelihara.timeseries.base import Point, StoreUnavailable
from pelihara.timeseries.spool import FlushResult, Spool
from tests.timeseries.victoria_instance import VictoriaInstance, victoria_instance

from . import NS_PER_MS, Answer, answering_server, recent_ns

LONG = "x" * 70_000  # refused with -influx.maxLineSize=256, taken with the default (256 KiB)
SHORT_LINES = ("-influx.maxLineSize=256",)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PELIHARA_TSDB", raising=False)
    return tmp_path / "home"


def spooled(run: str, first: int, count: int, long: tuple[int, ...] = ()) -> list[Point]:
    """Points number FIRST.. of series spooled{run=RUN}; those numbered LONG too long."""
    base = recent_ns()
    return [
        Point("spooled", {"run": run, **({"long": LONG} if seq in long else {})}, {"seq": seq},
              base + seq * NS_PER_MS)
        for seq in range(first, first + count)
    ]  # fmt: skip


def tsdb_spool(*args: str) -> Result:
    return CliRunner().invoke(cli, ["tsdb", "spool", *args])


def stored(vm: VictoriaInstance, run: str) -> list[int]:
    """Every stored `seq` of RUN, duplicates included."""
    values: list[int] = []
    for series in vm.export(f'spooled_seq{{run="{run}"}}'):
        values += [int(value) for value in series["values"]]
    return sorted(values)


def set_aside_then_down(vm: VictoriaInstance, run: str) -> None:
    """Through the agent's spool: 12 points, 2 of them refused by VM; then 5 more while it is
    down."""
    store = open_store(vm.store_url(timeout_seconds=2))
    with Spool(spool_path(store.url, "agent"), store) as spool:
        spool.add(spooled(run, 0, 12, long=(4, 9)))
        assert spool.flush() == FlushResult(sent=10, rejected=2, pending=0)
        vm.stop()
        spool.add(spooled(run, 12, 5))
        assert isinstance(spool.flush().error, StoreUnavailable)
    store.close()


def test_spool_shows_what_waits_and_what_was_set_aside(home: Path, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    with victoria_instance(tmp_path / "vm", flags=SHORT_LINES) as vm:
        set_aside_then_down(vm, run)
    shown = tsdb_spool("--format", "json")
    assert shown.exit_code == 0, shown.output + shown.stderr
    (status,) = json.loads(shown.output)
    assert (status["writer"], status["store"]) == ("agent", vm.store_url(timeout_seconds=2))
    assert status["pending"] == 5
    assert [(m["measurement"], m["points"]) for m in status["by_measurement"]] == [("spooled", 5)]
    assert status["oldest"].endswith("Z") and status["oldest"] <= status["newest"]
    assert "Connection refused" in status["last_error"]
    assert status["rejected"] == 2
    (reason,) = status["rejected_by_reason"]
    assert reason["points"] == 2  # one reason: without VictoriaMetrics' remoteAddr prefix
    assert reason["reason"].startswith("HTTP 400: cannot read influx line protocol data: too long")
    assert "rejected_points" not in status

    listed = tsdb_spool("--rejected", "--format", "json")
    points = json.loads(listed.output)[0]["rejected_points"]
    assert [(p["fields"]["seq"], p["tags"]["long"] == LONG) for p in points] == [
        (4, True),
        (9, True),
    ]

    table = tsdb_spool("--rejected")
    assert table.exit_code == 0
    for text in ("waiting     5 points", "set aside   2 points", "too long line", "--replay"):
        assert text in table.output


def test_replay_after_the_fix_sends_the_set_aside_points_once(home: Path, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    with victoria_instance(tmp_path / "vm", flags=SHORT_LINES) as vm:
        set_aside_then_down(vm, run)
        vm.flags = ()  # the fix: the default line limit
        vm.start()
        url = vm.store_url()
        replayed = tsdb_spool("--replay", "--tsdb", url)
        assert replayed.exit_code == 0, replayed.output + replayed.stderr
        assert "2 set-aside points back in the queue; sent 7, set aside again 0, waiting 0" in (
            replayed.output
        )
        assert stored(vm, run) == list(range(17))

        again = tsdb_spool("--replay", "--tsdb", url, "--format", "json")  # safe to repeat
        assert again.exit_code == 0, again.output + again.stderr
        assert [(r["moved_back"], r["sent"], r["pending"]) for r in json.loads(again.output)] == [
            (0, 0, 0)
        ]
        assert stored(vm, run) == list(range(17))
    (status,) = json.loads(tsdb_spool("--format", "json").output)
    assert (status["pending"], status["rejected"], status["last_error"]) == (0, 0, None)


def test_replay_into_a_store_refusing_everything_keeps_the_points_waiting(
    home: Path, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    with victoria_instance(tmp_path / "vm", flags=SHORT_LINES) as vm:
        set_aside_then_down(vm, run)
    answer = Answer(status=400, body=b"tenant 7 is unknown")
    with answering_server(answer, port=vm.port) as port:  # a proxy where the store was
        replayed = tsdb_spool("--replay", "--tsdb", f"victoriametrics://127.0.0.1:{port}")
    assert replayed.exit_code == 2, replayed.output + replayed.stderr
    assert "refused all" in replayed.stderr and "tenant 7 is unknown" in replayed.stderr
    assert "7 points wait in" in replayed.stderr
    (status,) = json.loads(tsdb_spool("--format", "json").output)
    assert (status["pending"], status["rejected"]) == (7, 0)  # back in the queue, kept
    assert "tenant 7 is unknown" in status["last_error"]


def test_spool_without_spools_and_replay_with_rejected(home: Path) -> None:
    assert "no spool: nothing waits to be sent" in tsdb_spool().output
    assert tsdb_spool("--format", "json").output.strip() == "[]"
    both = tsdb_spool("--replay", "--rejected")
    assert both.exit_code == 2 and "--replay" in both.stderr
    helped = tsdb_spool("--help")
    assert "--replay" in helped.output and "-dedup.minScrapeInterval=1ms" in helped.output
