"""Small edits of one server without a spreadsheet: set fields, rename it, remove it.

Each edit is checked by the same rules as an import (`plan.py`: every field's parser, a
rack's site, addresses, serials, asset tags and rack units held by others), writes nothing
when anything is wrong (`InputError`, exit status 3, every problem named by host and field),
and every change is an audit entry with the record before and after.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pelihara.core.errors import InputError, NotFoundError, Problem
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.fields import FIELD_BY_NAME, hostname
from pelihara.inventory.importer import apply_plan, checked_plan
from pelihara.inventory.locking import lock_writes
from pelihara.inventory.models import IpAddress, Server, ServerStatus
from pelihara.inventory.names import KINDS
from pelihara.inventory.records import Record, server_record
from pelihara.inventory.sources import normalise_column
from pelihara.inventory.validate import ServerRow, unknown_column

UNCHANGED = "nothing was changed"

# Who else names a server (verify runs, later tickets): each gives what names it, e.g.
# ["verify run 3"]. The rooms above the inventory pass theirs in (the CLI does).
Referrer = Callable[[Session, str], list[str]]


@dataclass(frozen=True)
class Edit:
    """What an edit did to a server: its record before and after (None: removed), and the
    warnings (a new OPD, site or rack name close to another)."""

    hostname: str
    before: Record | None
    after: Record | None
    warnings: tuple[Problem, ...] = ()
    created: tuple[str, ...] = ()

    @property
    def changed(self) -> dict[str, tuple[object, object]]:
        """The fields that changed: name -> (before, after)."""
        if self.before is None or self.after is None:
            return {}
        return {k: (v, self.after[k]) for k, v in self.before.items() if self.after[k] != v}


def server_named(session: Session, host: str) -> Server:
    """The server whose hostname (or one of whose addresses) is HOST; not found names the
    hostnames close to it."""
    text = host.strip().lower()
    try:
        address = ipaddress.ip_address(text).compressed
        stmt = select(Server).join(IpAddress).where(IpAddress.address == address)
    except ValueError:
        stmt = select(Server).where(Server.hostname == text)
    options = (selectinload(Server.addresses), selectinload(Server.host_keys))
    server = session.scalars(stmt.options(*options)).first()
    if server is None:
        close = difflib.get_close_matches(text, session.scalars(select(Server.hostname)), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise NotFoundError(f"no server {host!r} in the inventory{hint}")
    return server


def _assignment(host: str, text: str, row: ServerRow) -> Problem | None:
    """One FIELD=VALUE into ROW (the field's own parser), or the problem with it."""
    name, equals, value = text.partition("=")
    column = normalise_column(name)
    spec = FIELD_BY_NAME.get(column)
    if not equals:
        return Problem(host, 0, "", f"{text!r} is not FIELD=VALUE (FIELD= clears a field)")
    if spec is None:
        return Problem(host, 0, column or "(empty)", unknown_column(column))
    if column == "hostname":
        return Problem(host, 0, column, "use `pelihara inventory rename HOST NEW`")
    if column in row.given:
        return Problem(host, 0, column, "given twice")
    row.given |= {column}
    try:
        row.values[column] = spec.parse(value.strip()) if value.strip() else None
    except ValueError as exc:
        return Problem(host, 0, column, str(exc))
    return None


def set_fields(
    session: Session, actor: str, host: str, assignments: Sequence[str], strict: bool = False
) -> Edit:
    """Set HOST's fields from FIELD=VALUE ASSIGNMENTS (`FIELD=` clears one), as a one-row
    import that gives only those columns would."""
    lock_writes(session)
    server = server_named(session, host)
    name = server.hostname
    row = ServerRow(0, {"hostname": name}, frozenset({"hostname"}))
    problems = [p for text in assignments if (p := _assignment(name, text, row))]
    if not assignments:
        problems.append(Problem(name, 0, "", "nothing to set: give FIELD=VALUE"))
    plan = checked_plan(session, name, [row], problems=problems, strict=strict, outcome=UNCHANGED)
    before = server_record(server)
    apply_plan(session, plan, AuditLog(session, actor))
    created = tuple(
        f"{KINDS[kind]}: {label}"
        for kind in ("opd", "site", "rack")
        for label in plan.names.created(kind)
    )
    return Edit(name, before, server_record(server), tuple(plan.warnings), created)


def rename_server(session: Session, actor: str, host: str, new: str) -> Edit:
    """Give HOST the hostname NEW; its addresses, keys and history stay with it. The audit
    entry (`rename`, under the old name) has the record before and after."""
    lock_writes(session)
    server = server_named(session, host)
    old = server.hostname
    try:
        name = hostname(new.strip())
    except ValueError as exc:
        raise InputError([Problem(old, 0, "hostname", str(exc))], UNCHANGED) from None
    if name == old:
        raise InputError(
            [Problem(old, 0, "hostname", f"the server is named {old} already")], UNCHANGED
        )
    if session.scalar(select(Server.id).where(Server.hostname == name)) is not None:
        raise InputError(
            [Problem(old, 0, "hostname", f"{name} is the name of another server")], UNCHANGED
        )
    audit = AuditLog(session, actor)
    before = server_record(server)
    server.hostname = name
    after = server_record(server)
    audit.append("rename", "server", old, before, after)
    session.flush()
    return Edit(name, before, after)


def _references(session: Session, server: Server, referrers: Sequence[Referrer]) -> list[str]:
    found = [ref for referrer in referrers for ref in referrer(session, server.hostname)]
    if server.components:
        found.append(f"{len(server.components)} component record(s)")
    return found


def _withdraw(session: Session, actor: str, server: Server) -> Edit:
    if server.status == ServerStatus.WITHDRAWN.value:
        raise InputError(
            [Problem(server.hostname, 0, "status", "the server is withdrawn already")], UNCHANGED
        )
    row = ServerRow(
        0,
        {"hostname": server.hostname, "status": ServerStatus.WITHDRAWN.value},
        frozenset({"hostname", "status"}),
    )
    plan = checked_plan(session, server.hostname, [row], outcome=UNCHANGED)
    before = server_record(server)
    apply_plan(session, plan, AuditLog(session, actor))
    return Edit(server.hostname, before, server_record(server))


def remove_server(
    session: Session,
    actor: str,
    host: str,
    withdrawn: bool = False,
    referrers: Sequence[Referrer] = (),
) -> Edit:
    """Remove HOST from the inventory, with its addresses and recorded host keys (each an
    audit entry). Refused while REFERRERS name it (its verify runs would lose their server):
    WITHDRAWN keeps the record instead, with status `withdrawn`."""
    lock_writes(session)
    server = server_named(session, host)
    if withdrawn:
        return _withdraw(session, actor, server)
    references = _references(session, server, referrers)
    if references:
        shown = ", ".join(references[:5]) + (", ..." if len(references) > 5 else "")
        raise InputError(
            [
                Problem(
                    server.hostname,
                    0,
                    "",
                    f"refused: {shown} name(s) it; keep "
                    "the record as withdrawn instead (--withdrawn)",
                )
            ],
            UNCHANGED,
        )
    audit = AuditLog(session, actor)
    before = server_record(server)
    for key in server.host_keys:
        recorded = {"key_type": key.key_type, "fingerprint_sha256": key.fingerprint_sha256}
        audit.append("remove", "host_key", server.hostname, recorded, None)
    audit.append("remove", "server", server.hostname, before, None)
    session.delete(server)
    session.flush()
    return Edit(before["hostname"], before, None)
