"""`ticket attach`: photos and scans kept with a step of a ticket.

Each file is kept once by its SHA-256 in the data directory (`attachments/<sha256>`, never
inside the database) and recorded on the ticket as an `attachment` record of the step
(data `{name, size, media_type}`, and `note` when given), with its audit entry, in one
transaction. The same content attached twice to the same ticket and step is one file and one
record: the second time is told, not recorded. Every file is read before anything is
recorded: one that is missing or unreadable refuses them all.

Who attaches: a configured person of the data center's side (ATTACH_ROLES: the Tim Data
Center, the Kepala Bidang, the Kepala Dinas); an OPD's contact gives the files to the staff.
The step must be one of the ticket's SOP, done or not (photos of step 7 are taken before the
step is advanced). A closed ticket takes no more files: its record was reviewed as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from pelihara.inventory.audit import AuditLog
from pelihara.maintenance.actor import NotAllowedError
from pelihara.maintenance.advance import sop_step
from pelihara.maintenance.attachments import FileContent, read_files, store_file
from pelihara.maintenance.models import Ticket
from pelihara.maintenance.people import Person
from pelihara.maintenance.records import NewRecord, RecordedBy, add_record, records_of
from pelihara.maintenance.roles import ROLES
from pelihara.maintenance.sop import Sop
from pelihara.maintenance.tickets import TicketError, locked

ATTACH_ROLES = ("tim_data_center", "kepala_bidang", "kepala_dinas")
KIND = "attachment"


@dataclass(frozen=True)
class Attach:
    """What `ticket attach` asks: FILES kept with STEP, with NOTE."""

    step: int
    files: tuple[Path, ...]
    note: str | None = None


@dataclass(frozen=True)
class Attached:
    """One file of the command: its NAME, SHA256, and NEW (False: the same content was
    already attached to that step of the ticket)."""

    name: str
    sha256: str
    new: bool


def attach_files(
    session: Session, ticket: Ticket, sop: Sop, by: RecordedBy, request: Attach, now: datetime,
    directory: Path,
) -> list[Attached]:  # fmt: skip
    """Attach REQUEST's files to TICKET at NOW, in SESSION's transaction (the caller
    commits); the files are stored in DIRECTORY once all are read and recorded."""
    log = locked(session, ticket, by.person.name)
    check_attacher(by.person)
    step = sop_step(sop, request.step)
    if ticket.status != "open":
        raise TicketError(f"ticket {ticket.reference} is {ticket.status}: a closed ticket "
                          "takes no more files")  # fmt: skip
    files = read_files(request.files)
    known = {record.sha256 for record in records_of(ticket, KIND, step.number)}
    done = [_attach(session, log, ticket, by, step.number, file, request.note, known, now)
            for file in files]  # fmt: skip
    for file in files:
        store_file(file, directory)
    return done


def check_attacher(person: Person) -> None:
    """Refuse (status 2) a person who holds none of ATTACH_ROLES."""
    if any(person.holds(role) for role in ATTACH_ROLES):
        return
    names = ", ".join(f"{ROLES[role].name} ({role})" for role in ATTACH_ROLES)
    raise NotAllowedError(f"{person.name} holds {', '.join(person.roles)}: files are "
                          f"attached by the {names}")  # fmt: skip


def _attach(
    session: Session, log: AuditLog, ticket: Ticket, by: RecordedBy, step: int,
    file: FileContent, note: str | None, known: set[str | None], now: datetime,
) -> Attached:  # fmt: skip
    """Record FILE unless its content is KNOWN for the step (then it is added to KNOWN)."""
    if file.sha256 in known:
        return Attached(file.name, file.sha256, new=False)
    known.add(file.sha256)
    add_record(session, log, ticket, by, NewRecord(KIND, step, _data(file, note), file.sha256),
               now)  # fmt: skip
    return Attached(file.name, file.sha256, new=True)


def _data(file: FileContent, note: str | None) -> dict[str, object]:
    data: dict[str, object] = {"name": file.name, "size": file.size,
                               "media_type": file.media_type}  # fmt: skip
    if note and note.strip():
        data["note"] = note.strip()
    return data


def attached_text(reference: str, step: int, attached: Sequence[Attached]) -> list[str]:
    """The lines the command prints, one a file:
    `2026/0001: foto-rak.jpg attached to step 7 (sha256 3f1a9c0e52d1)`."""
    return [f"{reference}: {a.name} {'attached' if a.new else 'already attached'} to step "
            f"{step} (sha256 {a.sha256[:12]})" for a in attached]  # fmt: skip
