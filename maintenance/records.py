"""Evidence recorded on a ticket (`ticket_record`): one row and its audit entry, added in
the caller's transaction.

Every kind goes through `add_record`: who recorded it (the configured person, and the
official it was recorded for with `--on-behalf-of`), when, the step it serves, the hash of
the document or file it stands for, and its content as canonical JSON. The audit entry
(`record`, `ticket`, the reference) holds the same, so `audit verify` proves the record as
it proves the steps.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from pelihara.core.canonical import canonical_json
from pelihara.core.times import iso_text
from pelihara.inventory.audit import AuditLog
from pelihara.maintenance.actor import Recorded
from pelihara.maintenance.models import RECORD_KINDS, Ticket, TicketRecord
from pelihara.maintenance.people import Person

ENTITY = "ticket"


@dataclass(frozen=True)
class RecordedBy:
    """Who records: PERSON (established from the OS user or the database role), ACTOR what
    the system vouched for, RECORDED when it is for an official who signed on paper."""

    person: Person
    actor: str
    recorded: Recorded | None = None


@dataclass(frozen=True)
class NewRecord:
    """A record's content: KIND (one of RECORD_KINDS) for STEP, DATA (JSON-able), the
    SHA256 of its document or file, the SERIAL of a withdrawn component."""

    kind: str
    step: int
    data: Mapping[str, Any]
    sha256: str | None = None
    serial: str | None = None


def add_record(
    session: Session, log: AuditLog, ticket: Ticket, by: RecordedBy, new: NewRecord,
    now: datetime,
) -> TicketRecord:  # fmt: skip
    """Add NEW to TICKET at NOW with its audit entry (the caller commits)."""
    if new.kind not in RECORD_KINDS:
        raise ValueError(f"unknown ticket record kind {new.kind!r}")
    row = TicketRecord(
        ticket_id=ticket.id, kind=new.kind, step=new.step, recorded_at=now,
        person_name=by.person.name, person_nip=by.person.nip, actor=by.actor,
        on_behalf_of_name=by.recorded.on_behalf_of if by.recorded else None,
        on_behalf_of_nip=by.recorded.on_behalf_of_nip if by.recorded else None,
        sha256=new.sha256, serial=new.serial, data=canonical_json(dict(new.data)),
    )  # fmt: skip
    session.add(row)
    ticket.records.append(row)
    log.append("record", ENTITY, ticket.reference, None, record_dict(row))
    return row


def record_dict(row: TicketRecord) -> dict[str, Any]:
    """ROW as its audit entry and `ticket show --format json` keep it."""
    return {
        "kind": row.kind, "step": row.step, "recorded_at": iso_text(row.recorded_at),
        "person": row.person_name, "person_nip": row.person_nip,
        "on_behalf_of": row.on_behalf_of_name, "on_behalf_of_nip": row.on_behalf_of_nip,
        "actor": row.actor, "sha256": row.sha256, "serial": row.serial,
        "data": json.loads(row.data),
    }  # fmt: skip


def records_of(ticket: Ticket, kind: str, step: int | None = None) -> list[TicketRecord]:
    """TICKET's records of KIND (for STEP when given), oldest first."""
    return [r for r in ticket.records if r.kind == kind and (step is None or r.step == step)]
