"""The tickets as the audit log left them: `audit verify --state` for the maintenance tables.

The append-only triggers stop an UPDATE or DELETE of a step or a record; but one who can
drop the triggers, edit a row and put them back leaves a row the log does not know. Every
ticket, step and record was logged when it was made (`create`, `advance`, `record`,
`close`, entity `ticket`, keyed by the reference): each is compared with its entry, field by
field, and a row without its entry, or an entry without its row, is named.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pelihara.core.times import iso_text
from pelihara.inventory.audit_state import ROW, Difference
from pelihara.inventory.models import AuditEntry
from pelihara.maintenance.advance import audited_step
from pelihara.maintenance.models import Ticket
from pelihara.maintenance.records import record_dict
from pelihara.maintenance.tickets import ENTITY, audited_ticket

ACTIONS = ("create", "advance", "record", "close")  # what the ticket code logs
Logged = dict[str, list[dict[str, Any]]]  # per reference, the `after` of each entry in order


def ticket_differences(session: Session) -> list[Difference]:
    """Every ticket, step and record that is not as its audit entry has it."""
    logged = _logged(session)
    loaded = (selectinload(Ticket.servers), selectinload(Ticket.steps),
              selectinload(Ticket.records))  # fmt: skip
    tickets = session.scalars(select(Ticket).options(*loaded))
    found: list[Difference] = []
    seen: set[str] = set()
    for ticket in tickets:
        seen.add(ticket.reference)
        found += _ticket(ticket, {action: logged.get(action, {}).get(ticket.reference, [])
                                  for action in ACTIONS})  # fmt: skip
    created = logged.get("create", {})
    found += [Difference("ticket", ref, ROW, "removed", logged=after[-1])
              for ref, after in created.items() if ref not in seen]  # fmt: skip
    return found


def _logged(session: Session) -> dict[str, Logged]:
    """Per action, per reference, the entries' `after`, oldest first."""
    stmt = (select(AuditEntry.action, AuditEntry.entity_key, AuditEntry.after)
            .where(AuditEntry.entity == ENTITY).order_by(AuditEntry.seq))  # fmt: skip
    found: dict[str, Logged] = defaultdict(lambda: defaultdict(list))
    for action, reference, after in session.execute(stmt):
        found[action][reference].append(after or {})
    return found


def _ticket(ticket: Ticket, logged: Mapping[str, list[dict[str, Any]]]) -> Iterator[Difference]:
    ref = ticket.reference
    if not logged["create"]:
        yield Difference("ticket", ref, ROW, "added", stored=ref)
    else:
        opened = dict(audited_ticket(ticket, [s.host for s in ticket.servers]), status="open")
        yield from _fields("ticket", ref, logged["create"][0], opened)
    closed = logged["close"][-1] if logged["close"] else {"status": "open", "closed_at": None}
    now = {"status": ticket.status, "closed_at": audited_close(ticket)}
    yield from _fields("ticket", ref, closed, now)
    yield from _steps(ticket, logged["advance"])
    yield from _rows("ticket_record", ref, logged["record"],
                     [record_dict(row) for row in ticket.records])  # fmt: skip


def audited_close(ticket: Ticket) -> str | None:
    return iso_text(ticket.closed_at) if ticket.closed_at else None


def _steps(ticket: Ticket, logged: list[dict[str, Any]]) -> Iterator[Difference]:
    """Steps 2 onwards against their `advance` entries (step 1 is the ticket's creation)."""
    by_step = {entry.get("step"): entry for entry in logged}
    for row in ticket.steps:
        if row.step == 1:
            continue
        key = f"{ticket.reference} step {row.step}"
        entry = by_step.pop(row.step, None)
        if entry is None:
            yield Difference("ticket_step", key, ROW, "added", stored=audited_step(row))
        else:
            yield from _fields("ticket_step", key, entry, audited_step(row))
    yield from (Difference("ticket_step", f"{ticket.reference} step {step}", ROW, "removed",
                           logged=entry) for step, entry in by_step.items())  # fmt: skip


def _rows(table: str, ref: str, logged: list[dict[str, Any]], stored: list[dict[str, Any]]
          ) -> Iterator[Difference]:  # fmt: skip
    """The records, each matched with its entry by what never changes in one: its kind, step
    and time (a record deleted is named as such, not taken for the next one changed)."""
    entries: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for entry in logged:
        entries[_identity(entry)].append(entry)
    for row in stored:
        key = _named(ref, row)
        found = entries.get(_identity(row))
        if found:
            yield from _fields(table, key, found.pop(0), row)
        else:
            yield Difference(table, key, ROW, "added", stored=row)
    for left in entries.values():
        for entry in left:
            yield Difference(table, _named(ref, entry), ROW, "removed", logged=entry)


def _named(ref: str, record: Mapping[str, Any]) -> str:
    """`2026/0001 announcement (step 6, 2026-03-10T13:00:00Z)`."""
    return f"{ref} {record.get('kind')} (step {record.get('step')}, {record.get('recorded_at')})"


def _identity(record: Mapping[str, Any]) -> tuple[Any, ...]:
    return record.get("kind"), record.get("step"), record.get("recorded_at")


def _fields(table: str, key: str, logged: Mapping[str, Any], stored: Mapping[str, Any]
            ) -> Iterator[Difference]:  # fmt: skip
    for field, value in logged.items():
        if field in stored and stored[field] != value:
            yield Difference(table, key, field, "changed", value, stored[field])
