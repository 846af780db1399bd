"""The evidence `ticket advance` records with a step, from its options: the completeness form
the OPD confirmed (`--confirmed-by`, step 5), the announcement and to whom (`--announced-to`,
`--channel`, step 6), the decision that no device was withdrawn (`--no-withdrawal`, step 8),
the signed report (`--report FILE`, step 9).

An option belongs to the step whose evidence it is, found in the SOP by its evidence kind
(OPTIONS), not by number: given with another step it is refused (status 2), naming the step
it goes with. The records are added after the order and role checks and before the gates, in
the step's transaction: a gate that then refuses takes them back with everything else. A
report's file is read (and so checked) here, and stored by the caller after the gates.

The records' data (kept as canonical JSON; the next issue's documents read it):
- `completeness_form` (step 5): `{confirmed_by, confirmed_by_nip, opd, form}` (form:
  `forms.completeness_form`), `sha256` the hash of the form's canonical JSON;
- `announcement` (step 6): `{to: [...], channel, source: "recorded"}` (`pelihara announce
  --send`, of the next issue, adds `source: "sent"`);
- `no_withdrawal` (step 8): `{}`;
- `report` (step 9): `{name, size, source: "attached"}`, `sha256` the file's (the generated
  report of the next issue: `source: "generated"`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from pelihara.core.canonical import sha256_hex
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.models import Opd
from pelihara.maintenance.actor import NotAllowedError
from pelihara.maintenance.attachments import FileContent, read_file
from pelihara.maintenance.forms import completeness_form
from pelihara.maintenance.models import Ticket
from pelihara.maintenance.people import People, Person
from pelihara.maintenance.records import NewRecord, RecordedBy, add_record
from pelihara.maintenance.sop import Sop, Step, evidence_label
from pelihara.maintenance.tickets import TicketError

if TYPE_CHECKING:
    from pelihara.maintenance.advance import Advance

# (the Advance field, its option, the evidence kind of the step it goes with)
OPTIONS = (
    ("confirmed_by", "--confirmed-by", "completeness_form"),
    ("announced_to", "--announced-to", "announcement"),
    ("channel", "--channel", "announcement"),
    ("no_withdrawal", "--no-withdrawal", "withdrawal_decision"),
    ("report", "--report", "report"),
)


@dataclass(frozen=True)
class Recording:
    """Where the records of one step go: SESSION and LOG (the step's transaction), TICKET,
    the STEP, BY whom, NOW, and the configured PEOPLE (for `--confirmed-by`)."""

    session: Session
    log: AuditLog
    ticket: Ticket
    step: Step
    by: RecordedBy
    people: People
    now: datetime

    def add(self, kind: str, data: dict[str, Any], sha256: str | None = None) -> None:
        new = NewRecord(kind, self.step.number, data, sha256)
        add_record(self.session, self.log, self.ticket, self.by, new, self.now)


def check_options(sop: Sop, step: Step, request: Advance) -> None:
    """Refuse (status 2) an option given with a step it does not go with, naming the step
    it does; `--announced-to` and `--channel` go together."""
    for field, option, kind in OPTIONS:
        if getattr(request, field) and kind not in step.evidence:
            raise TicketError(f"{option} goes with {_steps_of(sop, kind)}, not with step "
                              f"{step.number}: leave it out")  # fmt: skip
    if bool(request.announced_to) != bool(request.channel):
        raise TicketError("--announced-to WHOM and --channel TEXT go together: who was told, "
                          "and how (surat, email, whatsapp, situs web, ...)")  # fmt: skip


def _steps_of(sop: Sop, kind: str) -> str:
    """`step 5 (the completeness form)`: the steps of SOP that need KIND."""
    numbers = [str(s.number) for s in sop.steps if kind in s.evidence]
    label = evidence_label(kind, "en")
    if not numbers:
        return f"no step of SOP {sop.name} ({label})"
    return f"step {', '.join(numbers)} ({label})"


def record_evidence(recording: Recording, request: Advance) -> list[FileContent]:
    """Add the records REQUEST's options stand for; return the files to store once every
    gate has passed (the report's)."""
    files: list[FileContent] = []
    for field, recorder in RECORDERS.items():
        if getattr(request, field):
            files += recorder(recording, request)
    return files


def _confirmed(recording: Recording, request: Advance) -> list[FileContent]:
    """Step 5: the form generated now, confirmed by a contact of the ticket's OPD."""
    ticket = recording.ticket
    contact = opd_contact(recording.session, recording.people, ticket, str(request.confirmed_by))
    form = completeness_form(recording.session, ticket)
    data = {"confirmed_by": contact.name, "confirmed_by_nip": contact.nip,
            "opd": ticket.opd_name, "form": form}  # fmt: skip
    recording.add("completeness_form", data, sha256_hex(form))
    return []


def _announced(recording: Recording, request: Advance) -> list[FileContent]:
    """Step 6: who was told of the stop, and how."""
    to = [" ".join(whom.split()) for whom in request.announced_to if whom.strip()]
    if not to:
        raise TicketError("--announced-to names who was told (the service's users, a list, "
                          "a group): it is empty")  # fmt: skip
    data = {"to": to, "channel": " ".join(str(request.channel).split()), "source": "recorded"}
    recording.add("announcement", data)
    return []


def _no_withdrawal(recording: Recording, request: Advance) -> list[FileContent]:
    """Step 8: the decision that no device was withdrawn (the step-8 gate reads it)."""
    recording.add("no_withdrawal", {})
    return []


def _report(recording: Recording, request: Advance) -> list[FileContent]:
    """Step 9: the signed report, read now, stored after the gates."""
    if request.report is None:
        return []
    report = read_file(request.report)
    data = {"name": report.name, "size": report.size, "source": "attached"}
    recording.add("report", data, report.sha256)
    return [report]


RECORDERS: dict[str, Callable[[Recording, Advance], list[FileContent]]] = {
    "confirmed_by": _confirmed,
    "announced_to": _announced,
    "no_withdrawal": _no_withdrawal,
    "report": _report,
}


def opd_contact(session: Session, people: People, ticket: Ticket, name: str) -> Person:
    """The person NAME (a name or NIP) of pelihara.toml, a contact (role opd) of TICKET's
    OPD; else a refusal (status 2) naming who the contacts of that OPD are."""
    opd = _opd_names(session, ticket)
    contacts = ", ".join(p.name for p in people.contacts_of(ticket.opd_name)) or "none yet"
    where = f"the contacts of {ticket.opd_name} in pelihara.toml ({people.path}): {contacts}"
    person = people.find(name)
    if person is None:
        raise NotAllowedError(f"--confirmed-by {name!r}: no such person; {where}")
    if not person.holds("opd"):
        raise NotAllowedError(f"--confirmed-by {person.name}: not an OPD contact (role opd; "
                              f"holds {', '.join(person.roles)}); {where}")  # fmt: skip
    if (person.opd or "").casefold() not in opd:
        raise NotAllowedError(f"--confirmed-by {person.name}: a contact of {person.opd}, "
                              f"not of {ticket.opd_name} (ticket {ticket.reference}); "
                              f"{where}")  # fmt: skip
    return person


def _opd_names(session: Session, ticket: Ticket) -> set[str]:
    """TICKET's OPD by its name at opening and its name now (a rename since), case aside."""
    now = session.get(Opd, ticket.opd_id)
    return {name.strip().casefold() for name in (ticket.opd_name, now.name if now else "")
            if name}  # fmt: skip
