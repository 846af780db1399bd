"""The snapshot document: its JSON form round-trips, its hash is the canonical bytes', and a
newer schema is refused by name. Health is read from the recorded SSH health output."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pelihara.collector.probes.ssh_health import parse_health
from pelihara.facts.model import Facts, Identity, Package
from pelihara.facts.snapshot import (
    SNAPSHOT_SCHEMA,
    ProbeView,
    Snapshot,
    SnapshotFormatError,
    health_from_readings,
    snapshot_from_dict,
    snapshot_from_json,
    snapshot_json,
    snapshot_sha256,
    snapshot_to_dict,
)

HEALTH = Path(__file__).resolve().parents[1] / "fixtures" / "health" / "debian12-container.txt"


def _snapshot(**changes: object) -> Snapshot:
    facts = Facts(
        identity=Identity(
            hostname="web01", machine_id="abc", boot_time=datetime(2026, 12, 1, tzinfo=UTC)
        ),
        memory_total_bytes=8 * 1024**3,
        packages=(Package("openssl", "3.0.15-1", "dpkg"),),
        collected_at=datetime(2026, 12, 4, 1, 0, tzinfo=UTC),
    )
    snapshot = Snapshot(
        host="web01", phase="pre", ticket="2026/041",
        taken_at=datetime(2026, 12, 4, 1, 0, 5, tzinfo=UTC),
        probes=("ssh", "dns"), facts=facts,
        health=health_from_readings(parse_health(HEALTH.read_text(encoding="utf-8"))),
        dns=ProbeView("ok", None, {"forward": {"status": "ok", "values": ["10.0.0.1"]}}),
    )  # fmt: skip
    return dataclasses.replace(snapshot, **changes)  # type: ignore[arg-type]


def test_round_trip_gives_the_same_bytes_and_hash() -> None:
    snapshot = _snapshot()
    text = snapshot_json(snapshot)
    again = snapshot_from_json(text)
    assert again == snapshot
    assert snapshot_json(again) == text
    assert snapshot_sha256(snapshot) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert json.loads(text)["snmp"] is None  # not asked: null, not an empty view


def test_the_health_sample_comes_from_the_recorded_health_output() -> None:
    health = _snapshot().health
    assert health is not None and health.cpu is not None
    assert health.load1 is not None and health.load1 >= 0
    assert health.memory_total_bytes and health.memory_available_bytes
    assert health.cpu.user_seconds and health.cpu.user_seconds > 0
    assert health.filesystems and "/" in {fs.mount for fs in health.filesystems}
    assert health.processes and health.processes > 1


def test_a_newer_schema_is_refused_naming_both_versions() -> None:
    document = snapshot_to_dict(_snapshot())
    document["snapshot_schema"] = SNAPSHOT_SCHEMA + 1
    with pytest.raises(SnapshotFormatError) as raised:
        snapshot_from_dict(document)
    assert f"schema {SNAPSHOT_SCHEMA + 1}" in str(raised.value)
    assert f"({SNAPSHOT_SCHEMA})" in str(raised.value)


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("phase", "during", "snapshot.phase"),
        ("taken_at", "yesterday", "snapshot.taken_at"),
        ("probes", "ssh", "snapshot.probes"),
        ("health", {"load1": "high"}, "snapshot.health.load1"),
        ("dns", {"status": "ok", "data": []}, "snapshot.dns"),
    ],
)
def test_a_malformed_document_names_its_field(field: str, value: object, says: str) -> None:
    document = snapshot_to_dict(_snapshot())
    document[field] = value
    with pytest.raises(SnapshotFormatError, match=says):
        snapshot_from_dict(document)


def test_the_plain_form_reads_back_without_json_between() -> None:
    snapshot = _snapshot()
    assert snapshot_from_dict(snapshot_to_dict(snapshot)) == snapshot
