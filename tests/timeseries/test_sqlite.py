"""The embedded SQLite store: round trips, tag and time selection, idempotent re-writes."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pelihara.core.errors import ConfigurationError
from pelihara.timeseries import open_store
from pelihara.timeseries.base import BadPointsError, Point, Query, StoreError, StoreUnavailable
from pelihara.timeseries.selection import datetime_ns
from pelihara.timeseries.sqlite import SqliteStore, path_from_url

from . import ODD_NAMES

START = datetime(2024, 5, 1, tzinfo=UTC)
T0 = datetime_ns(START)
SECOND = 1_000_000_000


def query(measurement: str = "cpu", seconds: int = 3600, **tags: str) -> Query:
    return Query(measurement, START, START + timedelta(seconds=seconds), tags)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(f"sqlite:///{tmp_path / 'ts' / 'timeseries.db'}")
    yield opened
    opened.close()


def cpu(host: str, offset_s: int, usage: float = 1.5, **tags: str) -> Point:
    return Point("cpu", {"host": host, **tags}, {"usage": usage}, T0 + offset_s * SECOND)


def test_open_store_gives_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    opened = open_store(url)
    assert isinstance(opened, SqliteStore)
    assert opened.url == url
    opened.close()


def test_file_and_directory_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "timeseries.db"
    SqliteStore(f"sqlite:///{path}").close()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_url_path_follows_sqlalchemy() -> None:
    assert path_from_url("sqlite:////var/lib/x.db") == "/var/lib/x.db"
    assert path_from_url("sqlite:///rel/x.db") == "rel/x.db"
    with pytest.raises(ConfigurationError):
        path_from_url("sqlite://")


def test_round_trip_keeps_field_types_and_nanoseconds(store: SqliteStore) -> None:
    point = Point(
        "cpu",
        {"host": "web1"},
        {"usage": 42.0, "cores": 8, "ok": True, "model": "Xeon", "big": 2**63 - 1},
        T0 + 123_456_789,
    )
    store.write([point])
    [back] = store.query(query())
    assert back == point
    assert type(back.fields["usage"]) is float
    assert type(back.fields["cores"]) is int
    assert type(back.fields["ok"]) is bool


def test_query_sorts_by_time(store: SqliteStore) -> None:
    points = [cpu("b", 3), cpu("a", 1), cpu("a", 2), cpu("b", 1)]
    store.write(points)
    got = store.query(query())
    assert [(p.time_ns, p.tags["host"]) for p in got] == [
        (T0 + SECOND, "a"),
        (T0 + SECOND, "b"),
        (T0 + 2 * SECOND, "a"),
        (T0 + 3 * SECOND, "b"),
    ]


def test_time_range_is_start_inclusive_end_exclusive(store: SqliteStore) -> None:
    store.write([cpu("a", s) for s in (-1, 0, 59, 60)])
    got = store.query(query(seconds=60))
    assert [p.time_ns - T0 for p in got] == [0, 59 * SECOND]


def test_empty_window_selects_nothing(store: SqliteStore) -> None:
    store.write([cpu("a", 0)])
    assert store.query(query(seconds=0)) == []


def test_tag_filter_is_a_subset_match(store: SqliteStore) -> None:
    store.write([cpu("a", 1, cpu="0"), cpu("a", 2, cpu="1"), cpu("b", 3, cpu="0")])
    assert [p.time_ns - T0 for p in store.query(query(host="a"))] == [SECOND, 2 * SECOND]
    assert [p.time_ns - T0 for p in store.query(query(cpu="0"))] == [SECOND, 3 * SECOND]
    assert [p.time_ns - T0 for p in store.query(query(host="b", cpu="0"))] == [3 * SECOND]
    assert store.query(query(host="b", cpu="1")) == []
    assert store.query(query(rack="r1")) == []


def test_tag_filter_does_not_match_on_text(store: SqliteStore) -> None:
    """A value that is a JSON fragment of another tag matches nothing."""
    store.write([cpu("a", 1, note='x","host":"b')])
    assert store.query(query(host="b")) == []
    assert len(store.query(query(note='x","host":"b'))) == 1


def test_other_measurements_are_not_selected(store: SqliteStore) -> None:
    store.write([cpu("a", 1), Point("cpu_load", {"host": "a"}, {"avg": 1.0}, T0)])
    assert [p.measurement for p in store.query(query())] == ["cpu"]


def test_rewrite_is_idempotent(store: SqliteStore) -> None:
    points = [cpu("a", s) for s in range(5)]
    store.write(points)
    store.write(points)
    store.write(list(reversed(points)))
    assert store.query(query()) == points


def test_rewrite_merges_fields_like_influxdb(store: SqliteStore) -> None:
    store.write([Point("cpu", {"host": "a"}, {"usage": 1.0, "idle": 99.0}, T0)])
    store.write([Point("cpu", {"host": "a"}, {"usage": 2.0, "steal": 0}, T0)])
    [back] = store.query(query())
    assert back.fields == {"usage": 2.0, "idle": 99.0, "steal": 0}


def test_same_time_different_tags_are_different_points(store: SqliteStore) -> None:
    store.write([cpu("a", 0), cpu("b", 0), Point("cpu", {}, {"usage": 3.0}, T0)])
    assert len(store.query(query())) == 3


@pytest.mark.parametrize("odd", ODD_NAMES)
def test_odd_names_and_values_round_trip(store: SqliteStore, odd: str) -> None:
    point = Point(
        f"m {odd}",
        {odd: odd, "host": "h"},
        {f"f {odd}": 1.25, "text": f'{odd} "quoted"\nnext line \\ end'},
        T0,
    )
    store.write([point])
    assert store.query(Query(f"m {odd}", START, START + timedelta(seconds=1), {odd: odd})) == [
        point
    ]


def test_bad_points_are_named_and_the_good_ones_written(store: SqliteStore) -> None:
    good = cpu("a", 1)
    bad = Point("cpu", {"host": ""}, {"usage": 1.0}, T0)
    with pytest.raises(BadPointsError) as caught:
        store.write([good, bad])
    assert [item.point for item in caught.value.rejected] == [bad]
    assert store.query(query()) == [good]


def test_one_write_is_one_transaction(store: SqliteStore, tmp_path: Path) -> None:
    """A write that fails half-way leaves nothing behind."""
    with sqlite3.connect(tmp_path / "ts" / "timeseries.db") as db:
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON points WHEN NEW.time_ns = 42"
            " BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"
        )
    with pytest.raises(StoreError, match="refused by test trigger"):
        store.write([cpu("a", 1), Point("cpu", {"host": "a"}, {"usage": 1.0}, 42)])
    assert store.query(query()) == []


def test_locked_database_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    store = SqliteStore(f"sqlite:///{path}")
    store._db.execute("PRAGMA busy_timeout = 50")  # fail fast instead of waiting 30 s
    with sqlite3.connect(path, isolation_level=None) as other:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreUnavailable, match="locked"):
            store.write([cpu("a", 1)])
        other.execute("ROLLBACK")
    store.write([cpu("a", 1)])
    assert len(store.query(query())) == 1
    store.close()


def test_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database file" * 100)
    with pytest.raises(StoreError, match="not a database"):
        SqliteStore(f"sqlite:///{path}")


def test_memory_store() -> None:
    store = SqliteStore("sqlite:///:memory:")
    store.write([cpu("a", 1)])
    assert len(store.query(query())) == 1
    store.close()
