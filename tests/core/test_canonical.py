"""The one canonical JSON encoder and its SHA-256, and the places that must use it."""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from pelihara.core.canonical import CanonicalError, canonical_json, sha256_hex
from pelihara.inventory.audit_chain import content_hash
from pelihara.timeseries.base import Point
from pelihara.timeseries.spool import encode
from pelihara.timeseries.sqlite import SqliteStore


def test_sorted_keys_no_spaces_and_text_as_itself() -> None:
    document = {
        "z": [1, 2.5, True, None],
        "a": {"nama": "Dinas Kesehatan · Puskesmas Ciléungsi", "b": 1},
    }
    assert canonical_json(document) == (
        '{"a":{"b":1,"nama":"Dinas Kesehatan · Puskesmas Ciléungsi"},"z":[1,2.5,true,null]}'
    )


def test_equal_documents_give_equal_bytes_and_hash() -> None:
    first = {"b": 1, "a": [datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)]}
    second = {"a": [datetime(2026, 1, 2, 10, 4, 5, tzinfo=timezone(timedelta(hours=7)))], "b": 1}
    assert canonical_json(first) == canonical_json(second) == '{"a":["2026-01-02T03:04:05Z"],"b":1}'
    expected = hashlib.sha256(b'{"a":["2026-01-02T03:04:05Z"],"b":1}').hexdigest()
    assert sha256_hex(first) == sha256_hex(second) == expected


def test_times_are_utc_with_z_and_microseconds_kept() -> None:
    moment = datetime(2026, 12, 3, 8, 0, 0, 1500, tzinfo=UTC)
    assert canonical_json([moment]) == '["2026-12-03T08:00:00.001500Z"]'


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, -math.inf, datetime(2026, 1, 1), object(), b"bytes"],
    ids=["nan", "inf", "-inf", "naive-time", "object", "bytes"],
)
def test_what_has_no_canonical_form_is_refused(value: object) -> None:
    with pytest.raises(CanonicalError):
        canonical_json({"value": value})


def test_audit_hash_is_unchanged_for_chains_written_before_the_encoder() -> None:
    """The hash of version 0.1.0's audit entries, with its own formula: old chains verify."""
    row = {
        "seq": 7, "at": datetime(2026, 11, 1, 2, 3, 4, 567890, tzinfo=UTC), "actor": "budi",
        "action": "update", "entity": "server", "entity_key": "dinkes-web01",
        "before": {"opd": "Dinas Kesehatan", "memory_gb": 32.0},
        "after": {"opd": "Dinas Komunikasi dan Informatika · Bidang TIK", "memory_gb": 64.5},
        "prev_hash": "ab" * 32,
    }  # fmt: skip
    old_content = {**row, "at": "2026-11-01T02:03:04.567890+00:00"}
    old_text = json.dumps(old_content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert content_hash(row) == hashlib.sha256(old_text.encode("utf-8")).hexdigest()


def test_spool_and_store_write_the_canonical_form(tmp_path: Path) -> None:
    point = Point("cpu", {"host": "web-é", "cpu": "total"}, {"usage": 1.5, "n": 2}, 1_000)
    assert encode(point) == canonical_json(
        {"measurement": "cpu", "tags": point.tags, "fields": point.fields, "time_ns": 1_000}
    )
    store = SqliteStore(f"sqlite:///{tmp_path / 'ts.db'}")
    store.write([point])
    store.close()
    with sqlite3.connect(tmp_path / "ts.db") as db:
        tags, fields = db.execute("SELECT tags, fields FROM points").fetchone()
    assert (tags, fields) == (canonical_json(point.tags), canonical_json(point.fields))
