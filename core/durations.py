"""Durations as people type them on a command line: a whole number and one unit.

>>> parse_duration("90m"), parse_duration(" 2h ")
(datetime.timedelta(seconds=5400), datetime.timedelta(seconds=7200))

`tsdb query --since` and `snapshot diff --window` read them the same way.
"""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
DURATION_HELP = "a number and a unit: 30s, 15m, 2h, 7d"


def parse_duration(text: str) -> timedelta:
    """TEXT (`30s`, `15m`, `2h`, `7d`) as a timedelta; ValueError saying the form otherwise."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(DURATION_HELP)
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
