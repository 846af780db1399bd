"""What every parser of a tool's output needs: its error, and the readers of single values.

Text in, typed values out; no I/O. A value that was never read is None, never "":

>>> optional_text("  PowerEdge R740 \\n"), optional_text("  "), optional_int("4096")
('PowerEdge R740', None, 4096)
"""

from __future__ import annotations

import json
from typing import Any


class OutputFormatError(ValueError):
    """A tool printed something that does not have the shape its parser expects."""


def optional_text(value: object) -> str | None:
    """Stripped text, or None for a missing or blank value (a value never read is never "")."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def optional_int(value: object) -> int | None:
    """An integer from int or decimal text; None when absent or not a number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def parse_line(text: str) -> str | None:
    """A one-value output (hostname, fqdn, machine-id, DMI, kernel): its first non-blank
    line, stripped."""
    lines = [line.strip() for line in text.replace("\x00", "").splitlines() if line.strip()]
    return lines[0] if lines else None


def json_list(text: str, key: str) -> list[dict[str, Any]]:
    """The list of objects under `key` of a JSON document (lsblk, findmnt)."""
    try:
        items = json.loads(text)[key]
    except (ValueError, KeyError, TypeError) as exc:
        raise OutputFormatError(f"not JSON with a {key!r} list: {exc}") from None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise OutputFormatError(f"{key!r} is not a list of objects")
    return items
