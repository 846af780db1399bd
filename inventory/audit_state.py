"""`audit verify --state`: the inventory's rows against what the audit log last recorded.

Every change to a server, an OPD, a site, a rack or a recorded host key is an audit entry
whose `after` is the row as it was left (None when it was removed). Replaying the log's
last word on each row and comparing it with the row in the database names every row that
was changed, added or removed behind the log: the table, the row's key and the field.
An entry whose `after` names the row otherwise (a `rename` or `merge`: another hostname or
name) ends the old row and leaves the new one; a renamed server's host keys go with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pelihara.inventory.models import AuditEntry, Component, HostKey, Opd, Rack, Server, Site
from pelihara.inventory.records import Record, component_record, server_record

ROW = "(row)"  # the field named when a whole row was added or removed behind the log
_NAMED: dict[str, type[Opd] | type[Site]] = {"opd": Opd, "site": Site}


@dataclass(frozen=True)
class Difference:
    """One row, or one field of a row, that is not what the audit log last recorded.

    WHAT: `changed` (a field), `added` or `removed` behind the log (a row), or `restored`
    (a row the log says was removed). With ENTRY, the difference was found by that entry
    (its `before` is not the log's last `after`: changed behind the log before it); STORED
    is then what the entry found."""

    table: str
    key: str
    field: str
    what: str
    logged: Any = None
    stored: Any = None
    entry: int | None = None

    def __str__(self) -> str:
        where = f"{self.table} {self.key}"
        if self.entry is not None:
            return self._before_entry(where)
        return {
            "changed": f"{where}: {self.field} is {self.stored!r} in the database, "
            f"{self.logged!r} in the audit log (changed behind the log)",
            "added": f"{where}: in the database, not in the audit log (added behind the log)",
            "removed": f"{where}: in the audit log, not in the database (removed behind the log)",
            "restored": f"{where}: in the database, though the audit log says it was removed",
        }[self.what]

    def _before_entry(self, where: str) -> str:
        found = f"before entry {self.entry} (changed behind the log before it)"
        return {
            "changed": f"{where}: {self.field} was {self.stored!r} {found}; the log had left "
            f"{self.logged!r}",
            "added": f"{where}: there {found}; the log never had it, or had it removed",
            "removed": f"{where}: gone {found}; the log had it",
        }[self.what]

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "key": self.key, "field": self.field, "what": self.what,
                "audit_log": self.logged, "database": self.stored,
                "before_entry": self.entry}  # fmt: skip


_NEVER_LOGGED: Any = object()  # a row the log never mentioned (unlike None: removed)
Rows = dict[tuple[str, str], Any]


class _Replay:
    """The log replayed row by row: each row's last `after`, and every entry whose `before`
    is not what the log had left (the row was changed behind the log before that entry)."""

    def __init__(self) -> None:
        self.rows: Rows = {}
        self.gaps: list[Difference] = []

    def apply(
        self, seq: int, where: tuple[str, str], before: Any, after: Any, to: str | None = None
    ) -> None:
        """The entry SEQ about the row WHERE: BEFORE is checked against what the log had
        left, and AFTER is the row now; renamed (or merged) TO another key, WHERE is gone."""
        last = self.rows.get(where, _NEVER_LOGGED)
        if before is not None and last is not _NEVER_LOGGED and last is not None:
            self.gaps += [Difference(*where, field, "changed", last.get(field), value, seq)
                          for field, value in before.items()
                          if field in last and _differ(field, last[field], value)]  # fmt: skip
        elif before is not None:
            self.gaps.append(Difference(*where, ROW, "added", stored=before, entry=seq))
        elif last is not _NEVER_LOGGED and last is not None:
            self.gaps.append(Difference(*where, ROW, "removed", logged=last, entry=seq))
        if to is None or to == where[1]:
            self.rows[where] = after
            return
        self.rows[where] = None
        self.rows[(where[0], to)] = after
        if where[0] == "server":  # a server's host keys are kept under its hostname
            self._move_host_keys(where[1], to)
            self._move_components(where[1], to)

    def _move_host_keys(self, old: str, new: str) -> None:
        for table, key in [w for w in self.rows if w[0] == "host_key"]:
            hostname, _, key_type = key.rpartition(" ")
            if hostname == old:
                self.rows[(table, f"{new} {key_type}")] = self.rows.pop((table, key))

    def _move_components(self, old: str, new: str) -> None:
        """A component's record names its server: a rename changes it without an entry."""
        for where, record in self.rows.items():
            if where[0] == "component" and record and record.get("hostname") == old:
                self.rows[where] = {**record, "hostname": new}


# What names a row in its own record: an entry whose `after` names another is a rename
# (or a merge into that one).
_IDENTITY = {"server": "hostname", "opd": "name", "site": "name", "rack": "name"}


def _renamed_to(entity: str, after: Any) -> str | None:
    field = _IDENTITY.get(entity)
    if field is None or not isinstance(after, dict) or field not in after:
        return None
    return str(after[field])


def _replay(session: Session) -> _Replay:
    stmt = (
        select(AuditEntry.seq, AuditEntry.entity, AuditEntry.entity_key, AuditEntry.before,
               AuditEntry.after)
        .where(AuditEntry.entity.in_(("server", "opd", "site", "rack", "host_key", "component")))
        .order_by(AuditEntry.seq)
        .execution_options(yield_per=5000)
    )  # fmt: skip
    replay = _Replay()
    for seq, entity, key, before, after in session.execute(stmt):
        # A host key's entries are keyed by server: one row per server and key type.
        row = f"{key} {(after or before or {}).get('key_type')}" if entity == "host_key" else key
        replay.apply(seq, (entity, row), before, after, _renamed_to(entity, after))
    return replay


def _stored(session: Session) -> Iterator[tuple[tuple[str, str], Record]]:
    servers = select(Server).options(
        selectinload(Server.addresses), selectinload(Server.opd),
        selectinload(Server.site), selectinload(Server.rack),
    ).execution_options(yield_per=2000)  # fmt: skip
    for server in session.scalars(servers):
        yield ("server", server.hostname), server_record(server)
    for table, model in _NAMED.items():
        for name in session.scalars(select(model.name)):
            yield (table, name), {"name": name}
    for site, rack in session.execute(select(Site.name, Rack.name).join(Rack.site)):
        yield ("rack", f"{site}/{rack}"), {"name": f"{site}/{rack}"}
    keys = select(Server.hostname, HostKey.key_type, HostKey.fingerprint_sha256).join(
        HostKey.server
    )
    for hostname, key_type, fingerprint in session.execute(keys):
        record = {"key_type": key_type, "fingerprint_sha256": fingerprint}
        yield ("host_key", f"{hostname} {key_type}"), record
    parts = select(Component, Server.hostname).join(Component.server)
    for component, hostname in session.execute(parts):
        if component.serial:  # a component is audited by its serial
            yield ("component", component.serial), component_record(component, hostname)


def _comparable(field: str, value: Any) -> Any:
    # A server's addresses: the primary first; the others' order is not kept by the database.
    if field == "ip" and isinstance(value, list) and value:
        return [value[0], *sorted(value[1:])]
    return value


def _differ(field: str, one: Any, other: Any) -> bool:
    return bool(_comparable(field, one) != _comparable(field, other))


def _fields(where: tuple[str, str], logged: Record, stored: Record) -> Iterator[Difference]:
    """The fields the log recorded that differ in the database."""
    for field, value in logged.items():
        if _differ(field, value, stored.get(field)):
            yield Difference(*where, field, "changed", value, stored.get(field))


def state_differences(session: Session) -> list[Difference]:
    """Every row that is not as the audit log last left it, and every entry that found a row
    otherwise than the log had left it; sorted by table, key, entry, field."""
    replay = _replay(session)
    logged = replay.rows
    found: list[Difference] = list(replay.gaps)
    for where, stored in _stored(session):
        last = logged.pop(where, _NEVER_LOGGED)
        if last is _NEVER_LOGGED:
            found.append(Difference(*where, ROW, "added", stored=stored))
        elif last is None:
            found.append(Difference(*where, ROW, "restored", stored=stored))
        else:
            found += _fields(where, last, stored)
    found += [Difference(*where, ROW, "removed", logged=last)
              for where, last in logged.items() if last is not None]  # fmt: skip
    return sorted(found, key=lambda d: (d.table, d.key, d.entry or 0, d.field))
