"""A real time-series store under test (the embedded SQLite store, or the session's
VictoriaMetrics) and points written to it as the agent writes them: shared by the health
window, health series and chart tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pelihara.timeseries.base import Point, Store
from pelihara.timeseries.selection import datetime_ns
from pelihara.timeseries.sqlite import SqliteStore
from pelihara.timeseries.victoria import VictoriaStore
from tests.realservers.victoriametrics import VictoriaMetricsServer

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


@dataclass
class Written:
    """A store under test and how to make what was written to it searchable."""

    store: Store
    flush: Callable[[], None]

    def write(self, points: Sequence[Point]) -> None:
        self.store.write(points)
        self.flush()


@pytest.fixture(params=["sqlite", "victoriametrics"])
def written(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Written]:
    if request.param == "sqlite":
        store: Store = SqliteStore(f"sqlite:///{tmp_path / 'timeseries.db'}")
        yield Written(store, lambda: None)
    else:
        vm: VictoriaMetricsServer = request.getfixturevalue("victoriametrics_server")
        store = VictoriaStore(f"victoriametrics://127.0.0.1:{vm.port}?timeout=5")
        yield Written(store, vm.force_flush)
    store.close()


def recent_pair() -> tuple[datetime, datetime]:
    """A pre at 3 h ago and a post at 90 min ago, to the second (inside VictoriaMetrics'
    one-day retention; the times are data here, never asserted against the clock)."""
    now = datetime.fromtimestamp(int(time.time()), UTC)
    return now - 3 * HOUR, now - 90 * MINUTE


def point(measurement: str, host: str, at: datetime, fields: dict[str, Any],
          source: str = "agent", **tags: str) -> Point:  # fmt: skip
    """One point as the agent writes it: HOST and SOURCE tags, and TAGS."""
    return Point(measurement, {"host": host, "source": source, **tags}, fields, datetime_ns(at))
