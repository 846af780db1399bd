"""`ticket advance`: one step of a ticket done, strictly in order, by the step's role, with
its evidence; the step row and its audit entry in one transaction.

The order of the checks is the order of the refusals a user meets: the step exists and the
options given go with it (`--confirmed-by` with step 5, ...), the ticket is open, the step
before it is done and this one is not (status 2), who acts holds the step's role (or records
it for one who does, with the signed scan: status 2); then the options' evidence is recorded
(`evidence.py`) and the evidence checked (status 3, every missing item named: a refusal
takes the records back). Files are stored only once every check passed. Advancing the SOP's
last step (12, *Selesai*, given to the Kepala Dinas) closes the ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pelihara.core.errors import ExitCode, PeliharaError
from pelihara.core.times import iso_text
from pelihara.inventory.audit import AuditLog
from pelihara.maintenance.actor import Recorded, on_behalf_of, require_role
from pelihara.maintenance.attachments import read_file, store_file
from pelihara.maintenance.evidence import Recording, check_options, record_evidence
from pelihara.maintenance.gates import missing_evidence
from pelihara.maintenance.models import Ticket, TicketStep
from pelihara.maintenance.people import People, Person
from pelihara.maintenance.records import RecordedBy
from pelihara.maintenance.sop import Sop, Step
from pelihara.maintenance.tickets import ENTITY, TicketError, locked


class GateError(PeliharaError):
    """A step's evidence is not all there (status 3): MISSING, one item a line."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, ticket: str, step: Step, missing: list[str]) -> None:
        self.missing = missing
        lines = "\n".join(f"  - {item}" for item in missing)
        super().__init__(
            f"step {step.number} ({step.label()}) of ticket {ticket} refused: "
            f"{len(missing)} missing\n{lines}"
        )


@dataclass(frozen=True)
class Advance:
    """What `ticket advance` asks: STEP done, with NOTE, for ON_BEHALF_OF (a name or NIP of
    the official who signed on paper), SCANS the files given with `--attach`; and the
    evidence of one step (`evidence.py`): CONFIRMED_BY the OPD contact who confirmed the
    completeness form (5), ANNOUNCED_TO whom and CHANNEL how the stop was announced (6),
    NO_WITHDRAWAL the decision that no device was withdrawn (8), REPORT the signed report
    (9)."""

    step: int
    note: str | None = None
    on_behalf_of: str | None = None
    scans: tuple[Path, ...] = ()
    confirmed_by: str | None = None
    announced_to: tuple[str, ...] = ()
    channel: str | None = None
    no_withdrawal: bool = False
    report: Path | None = None


@dataclass(frozen=True)
class Actor:
    """Who runs the command: the configured PERSON, all PEOPLE (for --on-behalf-of), and
    ACTOR, what the system vouched for (`Identity.describe()`)."""

    person: Person
    people: People
    actor: str


def step_label(step: Step) -> str:
    """`step 11 (Pemeriksaan)`: how the refusals name a step."""
    return f"step {step.number} ({step.label()})"


def sop_step(sop: Sop, number: int) -> Step:
    """Step NUMBER of SOP, or a refusal naming the steps there are."""
    try:
        return sop.step(number)
    except IndexError:
        raise TicketError(
            f"no step {number} in SOP {sop.name}: its steps are 1 to {len(sop.steps)}"
        ) from None


def check_order(ticket: Ticket, sop: Sop, step: Step) -> None:
    """Refuse unless TICKET is open, STEP is not done, and the step before it is."""
    if ticket.status != "open":
        raise TicketError(f"ticket {ticket.reference} is {ticket.status}: nothing to advance")
    done = {row.step: row for row in ticket.steps}
    if step.number in done:
        row = done[step.number]
        raise TicketError(f"{step_label(step)} of ticket {ticket.reference} is already done "
                          f"(by {row.person_name}, {iso_text(row.done_at)})")  # fmt: skip
    if step.number > 1 and step.number - 1 not in done:
        after = max(done, default=0) + 1
        raise TicketError(
            f"{step_label(step)} of ticket {ticket.reference} waits for step {step.number - 1}"
            f" ({sop.step(step.number - 1).label()}): steps go in order, the next is step "
            f"{after} ({sop.step(after).label()})"
        )


def check_actor(who: Actor, step: Step, request: Advance) -> Recorded | None:
    """Refuse unless who runs the command holds STEP's role, or records it with
    --on-behalf-of (and a scan) for someone who does."""
    if request.on_behalf_of is None:
        require_role(who.person, step.role, step_label(step))
        return None
    return on_behalf_of(who.people, who.person, request.on_behalf_of, step.role,
                        step_label(step), request.scans)  # fmt: skip


def store_scan(path: Path, directory: Path) -> str:
    """Keep PATH's content in DIRECTORY under its SHA-256 (once: the same scan twice is one
    file), 0600; return the hash (`attachments.store_file`)."""
    return store_file(read_file(path), directory).name


def advance_ticket(
    session: Session, ticket: Ticket, sop: Sop, who: Actor, request: Advance, now: datetime,
    attachments: Path,
) -> TicketStep:  # fmt: skip
    """Do REQUEST's step of TICKET at NOW, in SESSION's transaction (the caller commits):
    checked in order (see the module), scans kept in ATTACHMENTS, the row and its audit entry
    added; the last step closes the ticket."""
    log = locked(session, ticket, who.person.name)
    step = sop_step(sop, request.step)
    check_options(sop, step, request)
    check_order(ticket, sop, step)
    recorded = check_actor(who, step, request)
    by = RecordedBy(who.person, who.actor, recorded)
    files = record_evidence(Recording(session, log, ticket, step, by, who.people, now), request)
    missing = missing_evidence(session, ticket, step)
    if missing:
        raise GateError(ticket.reference, step, missing)
    hashes = [store_scan(path, attachments) for path in request.scans]
    for file in files:
        store_file(file, attachments)
    row = _step_row(ticket, step, who, request, recorded, hashes, now)
    session.add(row)
    log.append("advance", ENTITY, ticket.reference, None, audited_step(row))
    if step.number == len(sop.steps):
        _close(log, ticket, now)
    return row


def _step_row(
    ticket: Ticket, step: Step, who: Actor, request: Advance, recorded: Recorded | None,
    hashes: list[str], now: datetime,
) -> TicketStep:  # fmt: skip
    note = request.note.strip() if request.note and request.note.strip() else None
    return TicketStep(
        ticket_id=ticket.id, step=step.number, done_at=now, person_name=who.person.name,
        person_nip=who.person.nip, note=note, actor=who.actor,
        on_behalf_of_name=recorded.on_behalf_of if recorded else None,
        on_behalf_of_nip=recorded.on_behalf_of_nip if recorded else None,
        attachments=" ".join(hashes) or None,
    )  # fmt: skip


def audited_step(row: TicketStep) -> dict[str, Any]:
    """The step as its audit entry keeps it (the chain holds the scans' hashes too)."""
    return {
        "step": row.step, "done_at": iso_text(row.done_at), "person": row.person_name,
        "person_nip": row.person_nip, "on_behalf_of": row.on_behalf_of_name,
        "on_behalf_of_nip": row.on_behalf_of_nip, "note": row.note, "actor": row.actor,
        "attachments": row.attachments.split() if row.attachments else [],
    }  # fmt: skip


def _close(log: AuditLog, ticket: Ticket, now: datetime) -> None:
    before = {"status": ticket.status, "closed_at": None}
    ticket.status, ticket.closed_at = "done", now
    log.append("close", ENTITY, ticket.reference, before,
               {"status": "done", "closed_at": iso_text(now)})  # fmt: skip
