"""`ticket withdraw` (step 8 of the SOP): a component taken out of the data center.

`withdraw_component` marks an inventory component `withdrawn` under a ticket: the
component's audit entry (`withdraw`, `component`, its serial, before and after as the
inventory audits components, so `audit verify --state` replays it) and the ticket's
`withdrawal` record (who took it, why, from which server and slot: what the withdrawal form
of the next issue prints) are written in one transaction. The gate that reads them is
`withdrawal.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from pelihara.core.errors import NotFoundError
from pelihara.core.times import iso_text
from pelihara.inventory.models import Component, ComponentStatus, Server
from pelihara.inventory.records import component_record
from pelihara.maintenance.actor import Recorded
from pelihara.maintenance.advance import Actor, Advance, check_actor, step_label, store_scan
from pelihara.maintenance.models import Ticket, TicketRecord
from pelihara.maintenance.records import NewRecord, RecordedBy, add_record
from pelihara.maintenance.sop import Sop, Step
from pelihara.maintenance.tickets import TicketError, locked
from pelihara.maintenance.withdrawal import EVIDENCE, WITHDRAWAL


@dataclass(frozen=True)
class Withdrawal:
    """What `ticket withdraw` asks: the component SERIAL out, for REASON, TAKEN_BY the one
    who took it away (custody; None: who records it), recorded ON_BEHALF_OF a colleague who
    did it, with the signed form's SCANS."""

    serial: str
    reason: str
    taken_by: str | None = None
    on_behalf_of: str | None = None
    scans: tuple[Path, ...] = ()


def withdrawal_step(sop: Sop) -> Step:
    """The step of SOP whose evidence is the withdrawal decision (8 in the packaged SOP)."""
    for step in sop.steps:
        if EVIDENCE in step.evidence:
            return step
    raise TicketError(f"SOP {sop.name} has no step needing {EVIDENCE}: nothing is withdrawn")


def check_open(ticket: Ticket, step: Step) -> None:
    """Refuse unless TICKET is open and STEP (the withdrawal's) is not done yet."""
    ref = ticket.reference
    if ticket.status != "open":
        raise TicketError(f"ticket {ref} is {ticket.status}: nothing can be withdrawn under it")
    done = next((row for row in ticket.steps if row.step == step.number), None)
    if done is not None:
        raise TicketError(
            f"{step_label(step)} of ticket {ref} is already done (by {done.person_name}, "
            f"{iso_text(done.done_at)}): a withdrawal comes before it; open a new ticket"
        )


def _hosts(ticket: Ticket) -> str:
    return ", ".join(server.host for server in ticket.servers) or "none"


def find_component(session: Session, ticket: Ticket, serial: str) -> tuple[Component, str]:
    """The component SERIAL among TICKET's servers, and its server's hostname; NotFoundError
    (7) when no server has it, TicketError (2) when another server does."""
    stmt = (select(Component, Server.hostname).join(Component.server)
            .where(Component.serial == serial))  # fmt: skip
    found = [(component, host) for component, host in session.execute(stmt)]
    ours = {server.server_id for server in ticket.servers}
    for component, host in found:
        if component.server_id in ours:
            return component, host
    if found:
        host = found[0][1]
        raise TicketError(
            f"component {serial} is on {host}, not on a server of ticket {ticket.reference} "
            f"({_hosts(ticket)}): withdraw it under a ticket of {host}"
        )
    raise NotFoundError(
        f"no component with serial {serial} on the servers of ticket {ticket.reference} "
        f"({_hosts(ticket)}) nor elsewhere in the inventory: check the serial "
        f"(`pelihara inventory export-components`)"
    )


def _withdrawn_by(session: Session, serial: str) -> str | None:
    """The reference of the ticket that withdrew SERIAL, if one did."""
    stmt = (select(Ticket.reference).join(TicketRecord, TicketRecord.ticket_id == Ticket.id)
            .where(TicketRecord.kind == WITHDRAWAL, TicketRecord.serial == serial)
            .order_by(TicketRecord.id))  # fmt: skip
    return session.scalars(stmt.limit(1)).first()


def check_installed(session: Session, component: Component, host: str) -> None:
    """Refuse a component already withdrawn, saying when and by which ticket if known."""
    if component.status != ComponentStatus.WITHDRAWN.value:
        return
    when = iso_text(component.withdrawn_at) if component.withdrawn_at else "at a time not kept"
    ticket = _withdrawn_by(session, str(component.serial))
    under = f" under ticket {ticket}" if ticket else " (not under a ticket)"
    raise TicketError(
        f"component {component.serial} of {host} was already withdrawn {when}{under}: "
        "nothing to withdraw"
    )


def _reason(text: str, serial: str) -> str:
    reason = " ".join(text.split())
    if not reason:
        raise TicketError(f"--reason for component {serial} is empty: say why it was taken out")
    return reason


def _record_data(
    component: Component, host: str, reason: str, taken_by: str
) -> dict[str, str | None]:
    return {"reason": reason, "taken_by": taken_by, "server": host, "kind": component.kind,
            "model": component.model, "slot": component.slot}  # fmt: skip


def withdraw_component(
    session: Session, ticket: Ticket, sop: Sop, who: Actor, request: Withdrawal, now: datetime,
    attachments: Path,
) -> TicketRecord:  # fmt: skip
    """Withdraw REQUEST's component from TICKET's server at NOW, in SESSION's transaction
    (the caller commits): refused unless the ticket is open and its withdrawal step not done,
    who acts holds the step's role (or records it for one who does, with the scan), and the
    component is installed on a server of the ticket. Returns the `withdrawal` record."""
    log = locked(session, ticket, who.person.name)
    step = withdrawal_step(sop)
    check_open(ticket, step)
    recorded = check_actor(who, step, Advance(step.number, None, request.on_behalf_of,
                                              request.scans))  # fmt: skip
    serial = request.serial.strip()
    component, host = find_component(session, ticket, serial)
    check_installed(session, component, host)
    reason = _reason(request.reason, serial)
    hashes = [store_scan(path, attachments) for path in request.scans]
    before = component_record(component, host)
    component.status, component.withdrawn_at = ComponentStatus.WITHDRAWN.value, now
    log.append("withdraw", "component", serial, before, component_record(component, host))
    taken_by = " ".join((request.taken_by or "").split()) or _custodian(who, recorded)
    new = NewRecord(WITHDRAWAL, step.number, _record_data(component, host, reason, taken_by),
                    sha256=hashes[0] if hashes else None, serial=serial)  # fmt: skip
    return add_record(session, log, ticket, RecordedBy(who.person, who.actor, recorded), new, now)


def _custodian(who: Actor, recorded: Recorded | None) -> str:
    """Who holds a component when --taken-by is not given: the one it is recorded for."""
    return recorded.on_behalf_of if recorded else who.person.name


def withdrawn_text(ticket: Ticket, record: TicketRecord) -> str:
    """What `ticket withdraw` prints: `2026/0001: disk S3Z1NB0K (bay 2) of dinkes-web01
    withdrawn, taken by Joko (reason: rusak)`, and who recorded it for whom."""
    data = json.loads(record.data)
    slot = f" ({data['slot']})" if data.get("slot") else ""
    text = (f"{ticket.reference}: {data['kind']} {record.serial}{slot} of {data['server']} "
            f"withdrawn, taken by {data['taken_by']} (reason: {data['reason']})")  # fmt: skip
    if record.on_behalf_of_name:
        text += f"; {Recorded(record.person_name, record.on_behalf_of_name).text('en')}"
    return text
