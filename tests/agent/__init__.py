"""Helpers shared by the agent's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pelihara.timeseries import Query, open_store


def points_in_embedded_store(measurement: str) -> int:
    """Points of MEASUREMENT in the last hour of the embedded store of PELIHARA_HOME."""
    store = open_store()
    now = datetime.now(UTC)
    try:
        return len(store.query(Query(measurement, now - timedelta(hours=1), now)))
    finally:
        store.close()
