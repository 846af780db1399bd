"""Durations as typed on a command line (`tsdb query --since`, `snapshot diff --window`)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pelihara.core.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30s", timedelta(seconds=30)), ("15m", timedelta(minutes=15)), (" 2h", timedelta(hours=2)),
     ("7d", timedelta(days=7)), ("0h", timedelta(0))],
)  # fmt: skip
def test_a_number_and_a_unit(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "1", "h", "1.5h", "-1h", "1w", "1 h", "2hours"])
def test_anything_else_is_refused_saying_the_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"^a number and a unit: 30s, 15m, 2h, 7d$"):
        parse_duration(text)
