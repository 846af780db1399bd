"""The audit log's chain, without the database: what an entry's hash and MAC cover, and the
next entry's row after a given tail. `audit.AuditLog` writes these rows through the ORM,
`dbapi.append_audit` through a plain DB-API connection (`verify`, whose start-up matters);
both chain the same way, and `pelihara audit verify` checks either.
"""

from __future__ import annotations

import getpass
import hashlib
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pelihara.core.canonical import canonical_bytes
from pelihara.core.errors import ConfigurationError
from pelihara.inventory.audit_key import AuditKey
from pelihara.inventory.statuses import utcnow

GENESIS = "0" * 64
Change = tuple[str, str, str, Mapping[str, Any] | None, Mapping[str, Any] | None]


def current_actor(explicit: str | None = None) -> str:
    """`--actor` if given, else the operating-system user."""
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers): fall back to the uid
        return f"uid:{os.getuid()}"


def hashed_time(moment: datetime) -> str:
    # SQLite hands back naive datetimes; they were written as UTC.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


HASHED = ("seq", "at", "actor", "action", "entity", "entity_key", "before", "after", "prev_hash")


def entry_content(row: Mapping[str, Any]) -> bytes:
    """The canonical bytes that the hash and the MAC cover: the entry and its predecessor's hash."""
    content = {name: row[name] for name in HASHED}
    # The time is hashed as the text the first version wrote (`+00:00`, microseconds), so
    # chains written before the canonical encoder still verify.
    content["at"] = hashed_time(row["at"])
    return canonical_bytes(content)


def content_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of an entry's content and its predecessor's hash."""
    return hashlib.sha256(entry_content(row)).hexdigest()


def chained_row(
    seq: int, prev_hash: str, actor: str, change: Change, key: AuditKey
) -> dict[str, Any]:
    """The entry after the tail (SEQ, PREV_HASH) recording CHANGE (action, entity, key,
    before, after) by ACTOR now, with its hash and its MAC under KEY."""
    action, entity, entity_key, before, after = change
    row: dict[str, Any] = {
        "seq": seq + 1, "at": utcnow(), "actor": actor, "action": action,
        "entity": entity, "entity_key": entity_key, "prev_hash": prev_hash,
        "before": dict(before) if before is not None else None,
        "after": dict(after) if after is not None else None,
    }  # fmt: skip
    content = entry_content(row)
    row["hash"] = hashlib.sha256(content).hexdigest()
    row["mac"] = key.mac(content)
    return row


def key_refused(key: AuditKey, seq: int) -> ConfigurationError:
    """KEY did not sign the log's latest entry SEQ: nothing is appended."""
    return ConfigurationError(
        f"the audit key ({key.source}) did not sign the log's latest entry ({seq}): it is "
        "another key, or the entry was edited (`pelihara audit verify` tells); the change "
        "was not written"
    )
