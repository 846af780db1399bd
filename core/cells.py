"""A value as the text of a cell: in a table on the terminal and in an exported file.

>>> [cell_text(value) for value in (None, ["10.0.0.1", "10.0.0.2"], 64.0, 1.5, "web01")]
['', '10.0.0.1 10.0.0.2', '64', '1.5', 'web01']
"""

from __future__ import annotations

from typing import Any


def cell_text(value: Any) -> str:
    """A record value as a file cell: lists space-separated, whole floats without `.0`."""
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
