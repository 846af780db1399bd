"""Maintenance tickets: opening one for an OPD's letter, finding one, and the check that a
`--ticket REF` of verify or a snapshot names an open ticket.

A ticket's reference is `YYYY/NNNN`: the year it was opened in the data center's time zone
and its number in that year, from 0001 (`2026/0001`, `2026/0002`, ..., `2027/0001`). The
writers' lock (`inventory/locking.py`, taken by the audit log) makes two numbers never the
same; the unique key on (year, number) is the database's own guard.

Step 1 (the OPD's letter) is done when the ticket is opened: the SOP gives it to the OPD,
whose act is the letter (its number and date are kept on the ticket); the one who records
it is the Tim Data Center member running `ticket new`, established from the configuration.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pelihara.core.canonical import canonical_json
from pelihara.core.errors import ExitCode, NotFoundError, PeliharaError
from pelihara.core.times import as_utc, iso_text
from pelihara.facts.intents import Intents, intents_to_dict
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.models import Opd, Server
from pelihara.inventory.names import name_key, tidy
from pelihara.inventory.queries import find_server
from pelihara.maintenance.models import Ticket, TicketServer, TicketStep
from pelihara.maintenance.people import Person
from pelihara.maintenance.sop import Sop

REFERENCE = re.compile(r"^(\d{4})/(\d{4,})$")
ENTITY = "ticket"
CREATOR_ROLE = "tim_data_center"  # who records the OPD's letter (step 1)


class TicketError(PeliharaError):
    """A ticket cannot be opened or used as asked (status 2): the OPD does not own the
    servers, or the ticket is closed."""

    exit_code = ExitCode.USAGE


def looks_like_ticket(reference: str) -> bool:
    """Whether REFERENCE has a ticket's form, `YYYY/NNNN` (`2026/041`, 3 digits, has not)."""
    return REFERENCE.match(reference.strip()) is not None


def reference_text(year: int, number: int) -> str:
    """`2026/0001`."""
    return f"{year:04d}/{number:04d}"


@dataclass(frozen=True)
class NewTicket:
    """What `ticket new` asks for; WINDOW the planned work, start and end (aware)."""

    letter_number: str
    letter_date: date
    opd: str
    servers: tuple[str, ...]
    summary: str
    intents: Intents | None = None
    window: tuple[datetime, datetime] | None = None


@dataclass(frozen=True)
class Recorder:
    """Who opens the ticket: the configured PERSON, and ACTOR, what the system vouched for
    (`Identity.describe()`: `OS user budi`)."""

    person: Person
    actor: str


def find_opd(session: Session, name: str) -> Opd:
    """The inventory's OPD named NAME (case and spacing aside), or NotFoundError."""
    key = name_key(name)
    for opd in session.scalars(select(Opd).order_by(Opd.id)):
        if name_key(opd.name) == key:
            return opd
    raise NotFoundError(f"no OPD {tidy(name)!r} in the inventory (`pelihara inventory list`)")


def ticket_servers(session: Session, keys: Sequence[str], opd: Opd) -> list[Server]:
    """The servers KEYS name (hostname, IP or domain), once each; all must be OPD's."""
    found = {server.id: server for server in (find_server(session, key) for key in keys)}
    servers = sorted(found.values(), key=lambda server: server.hostname)
    others = [server for server in servers if server.opd_id != opd.id]
    if others:
        whose = ", ".join(f"{server.hostname} belongs to {server.opd.name}" for server in others)
        raise TicketError(
            f"{whose}, not to {opd.name}: a ticket is for the servers of the OPD that wrote "
            "the letter"
        )
    return servers


def _next_number(session: Session, year: int) -> int:
    last = session.scalar(select(func.max(Ticket.number)).where(Ticket.year == year))
    return (last or 0) + 1


def _required(request: NewTicket) -> None:
    for value, option in ((request.letter_number, "--letter"), (request.summary, "--summary")):
        if not value.strip():
            raise TicketError(f"{option} is empty: a ticket records the OPD's letter")
    if not request.servers:
        raise TicketError("no --server: name the servers of the letter (hostname, IP, domain)")


def open_ticket(
    session: Session, request: NewTicket, recorder: Recorder, sop: Sop, now: datetime,
    zone: tzinfo,
) -> Ticket:  # fmt: skip
    """Open a ticket of SOP for REQUEST at NOW, step 1 done, audited in SESSION's
    transaction (the caller commits). ZONE decides the year of the reference."""
    _required(request)
    opd = find_opd(session, request.opd)
    servers = ticket_servers(session, request.servers, opd)
    log = AuditLog(session, recorder.person.name)  # takes the writers' lock first
    year = as_utc(now).astimezone(zone).year
    ticket = _ticket(request, recorder, sop, opd, now)
    ticket.year, ticket.number = year, _next_number(session, year)
    ticket.reference = reference_text(year, ticket.number)
    session.add(ticket)
    session.flush()
    session.add_all(TicketServer(ticket_id=ticket.id, server_id=s.id, host=s.hostname)
                    for s in servers)  # fmt: skip
    session.add(_letter_step(ticket, request, recorder, now))
    log.append("create", ENTITY, ticket.reference, None,
               audited_ticket(ticket, [s.hostname for s in servers]))  # fmt: skip
    return ticket


def _ticket(request: NewTicket, recorder: Recorder, sop: Sop, opd: Opd, now: datetime) -> Ticket:
    start, end = request.window or (None, None)
    intents = canonical_json(intents_to_dict(request.intents)) if request.intents else None
    return Ticket(
        sop_name=sop.name, sop_revision=sop.revision, opd_id=opd.id, opd_name=opd.name,
        letter_number=request.letter_number.strip(), letter_date=request.letter_date,
        summary=request.summary.strip(), intents=intents, window_start=start,
        window_end=end, status="open", created_at=now, created_by=recorder.person.name,
        created_by_nip=recorder.person.nip,
    )  # fmt: skip


def _letter_step(
    ticket: Ticket, request: NewTicket, recorder: Recorder, now: datetime
) -> TicketStep:
    note = f"surat {request.letter_number.strip()} tanggal {request.letter_date.isoformat()}"
    return TicketStep(ticket_id=ticket.id, step=1, done_at=now, person_name=recorder.person.name,
                      person_nip=recorder.person.nip, note=note, actor=recorder.actor)  # fmt: skip


def audited_ticket(ticket: Ticket, hosts: list[str]) -> dict[str, Any]:
    """The ticket as its audit entry keeps it."""
    return {
        "reference": ticket.reference, "sop": ticket.sop_name, "revision": ticket.sop_revision,
        "opd": ticket.opd_name, "servers": hosts, "letter_number": ticket.letter_number,
        "letter_date": ticket.letter_date.isoformat(), "summary": ticket.summary,
        "intents": ticket.intents, "status": ticket.status,
        "window": [iso_text(m) for m in (ticket.window_start, ticket.window_end) if m],
        "created_by": ticket.created_by, "created_by_nip": ticket.created_by_nip,
    }  # fmt: skip


def locked(session: Session, ticket: Ticket, actor: str) -> AuditLog:
    """The writers' lock taken for ACTOR (the log to append to), and TICKET read again under
    it: a step, a record or a close another writer committed since it was read is seen, so
    the checks that follow judge the ticket as it is."""
    log = AuditLog(session, actor)
    session.refresh(ticket)
    return log


def find_ticket(session: Session, reference: str) -> Ticket:
    """The ticket REFERENCE (`2026/0001`), or NotFoundError."""
    ticket = session.scalars(select(Ticket).where(Ticket.reference == reference.strip())).first()
    if ticket is None:
        raise NotFoundError(f"no ticket {reference.strip()!r} (`pelihara ticket list`)")
    return ticket


def check_reference(session: Session, reference: str) -> str | None:
    """Whether `--ticket REFERENCE` of verify or a snapshot may be recorded.

    A reference of a ticket's form must be an open ticket (else NotFoundError, status 7, or
    TicketError, status 2). Any other text is a reference from before tickets existed: still
    taken, as free text, and the warning returned says so."""
    if not looks_like_ticket(reference):
        return (
            f"--ticket {reference!r} is not a ticket reference (YYYY/NNNN, `pelihara ticket "
            "list`): recorded as free text, linked to no ticket"
        )
    ticket = find_ticket(session, reference)
    if ticket.status != "open":
        raise TicketError(
            f"ticket {ticket.reference} is {ticket.status}: runs and snapshots are recorded "
            "for an open ticket only"
        )
    return None


def _moment(text: str, zone: tzinfo, day: date | None = None) -> datetime:
    """`2026-03-10 20:00` (or ISO `2026-03-10T20:00`, seconds optional) read in ZONE; with
    DAY, a bare `23:00` is that day's."""
    text = text.strip()
    if day is not None and re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", text):
        text = f"{day.isoformat()} {text}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise TicketError(
            f"--window: {text!r} is no time (write 2026-03-10 20:00..2026-03-10 23:00)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def parse_window(text: str, zone: tzinfo) -> tuple[datetime, datetime]:
    """`--window START..END` in ZONE (the data center's): `2026-03-10 20:00..23:00` or
    `2026-03-10 20:00..2026-03-11 02:00`; END after START."""
    start_text, dots, end_text = text.partition("..")
    if not dots:
        raise TicketError(f"--window {text!r}: write START..END, 2026-03-10 20:00..23:00")
    start = _moment(start_text, zone)
    end = _moment(end_text, zone, start.date())
    if end <= start:
        raise TicketError(f"--window {text!r}: the end is not after the start")
    return as_utc(start), as_utc(end)


def list_tickets(
    session: Session, status: str | None = None, opd: str | None = None
) -> list[tuple[Ticket, int]]:
    """Tickets, newest first, each with the number of its steps done: of STATUS, of OPDs
    whose name contains OPD (case aside); their servers loaded with them, their steps counted
    by the database, not loaded (two queries whatever their number)."""
    from sqlalchemy.orm import selectinload

    done = (select(func.count(TicketStep.id)).where(TicketStep.ticket_id == Ticket.id)
            .correlate(Ticket).scalar_subquery())  # fmt: skip
    stmt = select(Ticket, done).options(selectinload(Ticket.servers))
    if status:
        stmt = stmt.where(Ticket.status == status)
    if opd:
        stmt = stmt.where(func.lower(Ticket.opd_name).contains(tidy(opd).lower(), autoescape=True))
    rows = session.execute(stmt.order_by(Ticket.year.desc(), Ticket.number.desc()))
    return [(ticket, int(count)) for ticket, count in rows]
