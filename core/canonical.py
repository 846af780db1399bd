"""The ONE canonical JSON form of every document pelihara stores or hashes, and its SHA-256.

Sorted keys, no spaces (`,` and `:`), UTF-8 text as itself (no `\\u` escapes), times as UTC
ISO-8601 ending in `Z`, and no NaN or infinity (JSON has none; a hash over `NaN` would
prove nothing another reader could check). Equal documents give equal bytes, so equal hashes:

>>> canonical_json({"b": 1, "a": [datetime(2026, 12, 3, 8, 0, tzinfo=UTC), "é"]})
'{"a":["2026-12-03T08:00:00Z","é"],"b":1}'
>>> sha256_hex({"a": 1})
'015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862'

Used by the facts documents, the audit log's hash chain, the spool, the embedded
time-series store and the database's JSON columns.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


class CanonicalError(ValueError):
    """A value that has no canonical JSON form (NaN, a naive time, an unknown type)."""


def utc_text(moment: datetime) -> str:
    """MOMENT as UTC ISO-8601 with `Z`; microseconds only when there are any.

    >>> utc_text(datetime(2026, 12, 3, 8, 0, 0, 500, tzinfo=UTC))
    '2026-12-03T08:00:00.000500Z'
    """
    if moment.tzinfo is None:
        raise CanonicalError(f"time {moment.isoformat()} has no time zone; UTC is required")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise CanonicalError(f"{type(value).__name__} has no canonical JSON form")


_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_default
)


def canonical_json(value: Any) -> str:
    """VALUE as canonical JSON text; raises `CanonicalError` for what has no such form."""
    try:
        return _ENCODER.encode(value)
    except ValueError as exc:  # allow_nan=False raises a bare ValueError
        if isinstance(exc, CanonicalError):
            raise
        raise CanonicalError(f"not canonical JSON: {exc}") from None


def canonical_bytes(value: Any) -> bytes:
    """The UTF-8 bytes of `canonical_json(VALUE)`: what is hashed."""
    return canonical_json(value).encode("utf-8")


def sha256_hex(value: Any) -> str:
    """SHA-256 of VALUE's canonical JSON, as 64 lowercase hex digits."""
    # Imported here: hashlib loads OpenSSL (~3 ms, ~1.5 MB), which the agent's loop never needs.
    import hashlib

    return hashlib.sha256(canonical_bytes(value)).hexdigest()
