"""Audit entries appended through a plain DB-API connection (`dbapi.Db`): what `verify`
writes (its run, the host keys it trusts) without the ORM. The same chain as `AuditLog`
(`audit_chain.chained_row`): the writers' lock first, the tail read once, its MAC checked
against the key, then the entries, in the caller's transaction."""

from __future__ import annotations

import json
from typing import Any

from pelihara.inventory.audit_chain import (
    GENESIS,
    HASHED,
    Change,
    chained_row,
    entry_content,
    key_refused,
)
from pelihara.inventory.audit_key import AuditKey, require_key
from pelihara.inventory.dbapi import Db

_COLUMNS = (*HASHED, "hash", "mac")
_INSERT = (f"INSERT INTO audit_log ({', '.join(_COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in _COLUMNS)})")  # fmt: skip


def _tail(db: Db, key: AuditKey) -> tuple[int, str]:
    """The chain's last (seq, hash); ConfigurationError if KEY did not sign that entry."""
    row = db.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM audit_log ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return 0, GENESIS
    entry = dict(zip(_COLUMNS, row, strict=True))
    mac = entry["mac"]
    if mac is not None and not key.matches(entry_content(_as_read(db, entry)), mac):
        raise key_refused(key, int(entry["seq"]))
    return int(entry["seq"]), str(entry["hash"])


def _as_read(db: Db, entry: dict[str, Any]) -> dict[str, Any]:
    """A row as the ORM would read it: a time, JSON decoded."""
    decoded = {name: json.loads(v) if isinstance(v, str) else v
               for name, v in ((n, entry[n]) for n in ("before", "after"))}  # fmt: skip
    return {**entry, **decoded, "at": db.read_time(entry["at"])}


def check_key(db: Db) -> None:
    """Before a change: the audit key is there and signed the log's latest entry, else
    ConfigurationError (status 2), nothing written."""
    _tail(db, require_key())
    db.rollback()  # the read's transaction: the writers' lock is taken when appending


def append_entries(db: Db, actor: str, changes: list[Change], key: AuditKey | None = None) -> None:
    """Append CHANGES (action, entity, key, before, after) by ACTOR to the log, in DB's
    transaction (committed by the caller, with the change they record)."""
    if not changes:
        return
    key = key or require_key()
    db.lock_writes()
    seq, prev = _tail(db, key)
    rows = []
    for change in changes:
        row = chained_row(seq, prev, actor, change, key)
        seq, prev = row["seq"], row["hash"]
        rows.append(_stored(db, row))
    db.executemany(_INSERT, rows)


def _stored(db: Db, row: dict[str, Any]) -> tuple[Any, ...]:
    values = {**row, "at": db.time(row["at"]), "before": db.json(row["before"]),
              "after": db.json(row["after"])}  # fmt: skip
    return tuple(values[name] for name in _COLUMNS)
