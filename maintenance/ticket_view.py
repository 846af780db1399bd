"""What `ticket show` and `ticket list` say of a ticket: its steps against the SOP, each
with its deadline on the working-day calendar, and whether it was met.

A step starts when the step before it is done; step 1 (the OPD's letter) starts on the
letter's date. Its deadline is `calendar.deadline(start, service_level_days)`; a step
done before the deadline `met` it, after it `missed` it; a step not done yet is `due`
until its deadline passes (then `missed`), or `waiting` while the step before is open. A
step without a service level (step 12) has no deadline. The evidence each step needs is
named from the SOP file; whether it is there is checked by the gates (not built yet), so
the view says "not checked yet" rather than claim anything.

Pure: NOW is an argument, never read from the clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from pelihara.core.times import iso_text
from pelihara.maintenance.calendar import Deadline, WorkCalendar, deadline
from pelihara.maintenance.evidence_view import StepEvidence
from pelihara.maintenance.models import Ticket, TicketStep
from pelihara.maintenance.roles import role_label
from pelihara.maintenance.sop import Sop, Step, evidence_label


@dataclass(frozen=True)
class StepView:
    """One SOP step of one ticket, as shown."""

    step: Step
    done: TicketStep | None
    deadline: Deadline | None
    state: str  # met, missed, due, waiting, or "" (no service level)
    evidence: StepEvidence | None = None  # None: not asked (`step_views` without it)

    def as_dict(self) -> dict[str, Any]:
        done = self.done
        return {
            "step": self.step.number, "name": self.step.name.id, "name_en": self.step.name.en,
            "short": self.step.label(),
            "role": self.step.role, "done": done is not None,
            "done_at": iso_text(done.done_at) if done else None,
            "by": done.person_name if done else None,
            "by_nip": done.person_nip if done else None,
            "on_behalf_of": done.on_behalf_of_name if done else None,
            "on_behalf_of_nip": done.on_behalf_of_nip if done else None,
            "note": done.note if done else None,
            "service_level_days": self.step.service_level_days,
            "due": iso_text(self.deadline.last_moment()) if self.deadline else None,
            "service_level": self.state or None,
            "evidence_kinds": list(self.step.evidence),
            **self._evidence(),
        }  # fmt: skip

    def _evidence(self) -> dict[str, Any]:
        found = self.evidence
        if found is None:
            return {"evidence_status": None, "missing": [], "evidence": []}
        return {"evidence_status": found.status, "missing": list(found.missing),
                "evidence": [link.as_dict() for link in found.links]}  # fmt: skip


def _start(
    ticket: Ticket, before: TicketStep | None, number: int, cal: WorkCalendar
) -> datetime | None:
    if number == 1:
        return datetime.combine(ticket.letter_date, time(), tzinfo=cal.zone)
    return before.done_at if before is not None else None


def _state(line: Deadline | None, done: TicketStep | None, started: bool, now: datetime) -> str:
    if line is None:
        return "" if started else "waiting"
    if done is not None:
        return "met" if line.met_by(done.done_at) else "missed"
    return "missed" if line.missed_at(now) else "due"


def step_views(
    ticket: Ticket, sop: Sop, cal: WorkCalendar, now: datetime,
    evidence: Mapping[int, StepEvidence] | None = None,
) -> list[StepView]:  # fmt: skip
    """Every step of SOP for TICKET, in order, as it stands at NOW, with its EVIDENCE (by
    step number, as `evidence.ticket_evidence` computed it) when given."""
    found = evidence or {}
    done = {record.step: record for record in ticket.steps}
    views = []
    for step in sop.steps:
        start = _start(ticket, done.get(step.number - 1), step.number, cal)
        days = step.service_level_days
        line = deadline(start, days, cal) if start is not None and days else None
        state = _state(line, done.get(step.number), start is not None, now)
        views.append(StepView(step, done.get(step.number), line, state,
                              found.get(step.number)))  # fmt: skip
    return views


def evidence_text(view: StepView) -> str:
    """The table's evidence cell: `recorded (2)`, `missing (3)`, `ready`, `waiting`, `none
    needed` (the links and the missing items are printed under the table)."""
    found = view.evidence
    if found is None:
        return "-"
    count = len(found.missing) or len(found.links)
    return f"{found.status} ({count})" if count else found.status


def evidence_kinds_text(step: Step, lang: str = "id") -> str:
    """`verification run, attachment`: the kinds the SOP asks of STEP, or `-`."""
    return ", ".join(evidence_label(kind, lang) for kind in step.evidence) or "-"


def step_after(sop: Sop, done: int) -> Step | None:
    """The step after the first DONE steps of SOP (steps go strictly in order), None after
    the last."""
    return next((step for step in sop.steps if step.number == done + 1), None)


def ticket_summary(ticket: Ticket, sop: Sop) -> dict[str, Any]:
    """One ticket as `ticket list` shows it, from its loaded servers and steps."""
    hosts = [server.host for server in ticket.servers]
    return summary_of(ticket, hosts, len(ticket.steps), step_after(sop, len(ticket.steps)))


def summary_of(
    ticket: Ticket, hosts: Sequence[str], steps_done: int, following: Step | None
) -> dict[str, Any]:
    """One ticket as `ticket list` shows it: its row, HOSTS, the number of STEPS_DONE and
    the FOLLOWING step (None when all are done); for callers that count rather than load."""
    return {
        "reference": ticket.reference, "status": ticket.status, "opd": ticket.opd_name,
        "servers": list(hosts),
        "letter_number": ticket.letter_number, "letter_date": ticket.letter_date.isoformat(),
        "summary": ticket.summary, "created_at": iso_text(ticket.created_at),
        "created_by": ticket.created_by, "steps_done": steps_done,
        "next_step": following.number if following else None,
        "next_role": following.role if following else None,
    }  # fmt: skip


def ticket_document(
    ticket: Ticket, sop: Sop, cal: WorkCalendar, now: datetime,
    evidence: Mapping[int, StepEvidence],
) -> dict[str, Any]:  # fmt: skip
    """TICKET as `ticket show --format json` prints it, at NOW, with each step's EVIDENCE."""
    window = [iso_text(m) for m in (ticket.window_start, ticket.window_end) if m]
    return {
        **ticket_summary(ticket, sop),
        "sop": ticket.sop_name, "sop_revision": ticket.sop_revision,
        "created_by_nip": ticket.created_by_nip,
        "intents": ticket.intents, "window": window or None,
        "closed_at": iso_text(ticket.closed_at) if ticket.closed_at else None,
        "steps": [view.as_dict() for view in step_views(ticket, sop, cal, now, evidence)],
    }  # fmt: skip


def role_text(step: Step) -> str:
    """`Tim Data Center` (with `+ OPD` when the step is done with the OPD)."""
    names = [role_label(step.role), *(role_label(role) for role in step.with_)]
    return " + ".join(names)
