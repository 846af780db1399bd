"""The steps past their service level: what `ticket overdue` (cron) and `ticket list
--overdue` report.

A ticket's steps go strictly in order, so an open ticket's NEXT step is the one after the
highest step done, and it STARTED when that step was done (the OPD's letter date for step 1,
as `ticket show` counts it). Its deadline is `calendar.deadline(started, days, calendar)`
(working days in the data center's zone: weekends, Indonesian public holidays, the
configured *cuti bersama*); the step is OVERDUE when `missed_at(now)`. A done ticket has no
next step, so it is never overdue; a step without a service level (step 12) never is either.

Fast whatever the number of tickets: one aggregate query gives each open ticket with its
highest step done and when (`ticket_step` is read by the database, never loaded as objects),
a second gives the servers of the open tickets, and only when something is overdue. Each
SOP is resolved once per name (`ticket_sop.ticket_sops`), each deadline once per (start
day, service level).

Pure as to time: NOW is an argument, never read from the clock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from pelihara.core.times import as_utc, iso_text
from pelihara.inventory.names import tidy
from pelihara.maintenance.calendar import Deadline, WorkCalendar, deadline
from pelihara.maintenance.models import Ticket, TicketServer, TicketStep
from pelihara.maintenance.sop import Step
from pelihara.maintenance.ticket_sop import TicketSop
from pelihara.maintenance.ticket_view import step_after, summary_of

_Select = TypeVar("_Select", bound="Select[*tuple[Any, ...]]")


@dataclass(frozen=True)
class Lateness:
    """How late an overdue step is at NOW: the working days begun since its deadline (the day
    in progress counts when it is a working day) and the whole hours since it."""

    working_days: int
    hours: int

    def text(self) -> str:
        """`2 working days (50 h)`, `0 working days (14 h)` over a weekend."""
        days = "1 working day" if self.working_days == 1 else f"{self.working_days} working days"
        return f"{days} ({self.hours} h)"


@dataclass(frozen=True)
class OverdueStep:
    """An open ticket's next step, past its service level. TICKET is the ticket's row (its
    steps and servers NOT loaded: use SERVERS and STEPS_DONE)."""

    ticket: Ticket
    servers: tuple[str, ...]
    steps_done: int  # the highest step done: steps go in order
    step: Step
    started: datetime
    deadline: Deadline
    late: Lateness

    def as_dict(self) -> dict[str, Any]:
        """One overdue step as `ticket overdue --format json` prints it (times in UTC)."""
        return {
            "reference": self.ticket.reference, "opd": self.ticket.opd_name,
            "servers": list(self.servers), "step": self.step.number,
            "name": self.step.name.id, "name_en": self.step.name.en, "short": self.step.label(),
            "role": self.step.role,
            "service_level_days": self.step.service_level_days,
            "started": iso_text(self.started), "due": iso_text(self.deadline.last_moment()),
            "late_working_days": self.late.working_days, "late_hours": self.late.hours,
        }  # fmt: skip

    def summary(self) -> dict[str, Any]:
        """The ticket as `ticket list` shows it, from what the aggregate query read, without
        loading its steps."""
        return summary_of(self.ticket, self.servers, self.steps_done, self.step)


def _open_tickets(opd: str | None) -> Select[Ticket, int | None, datetime | None]:
    """Each open ticket, its highest step done and when (NULLs when none is done)."""
    last = (
        select(TicketStep.ticket_id, func.max(TicketStep.step).label("step"))
        .join(Ticket, Ticket.id == TicketStep.ticket_id)
        .where(Ticket.status == "open")
        .group_by(TicketStep.ticket_id)
        .subquery()
    )
    step = last.c.step
    stmt = (
        select(Ticket, last.c.step, TicketStep.done_at)
        .outerjoin(last, last.c.ticket_id == Ticket.id)
        .outerjoin(TicketStep, and_(TicketStep.ticket_id == Ticket.id, TicketStep.step == step))
        .where(Ticket.status == "open")
    )
    return _of_opd(stmt, opd)


def _of_opd(stmt: _Select, opd: str | None) -> _Select:
    """STMT, only OPDs whose name contains OPD (case aside), as `ticket list --opd`."""
    if not opd:
        return stmt
    return stmt.where(func.lower(Ticket.opd_name).contains(tidy(opd).lower(), autoescape=True))


def _servers(session: Session, opd: str | None) -> dict[int, tuple[str, ...]]:
    """The hostnames of every open ticket (of OPD), by ticket id: one query."""
    stmt = (
        select(TicketServer.ticket_id, TicketServer.host)
        .join(Ticket, Ticket.id == TicketServer.ticket_id)
        .where(Ticket.status == "open")
        .order_by(TicketServer.ticket_id, TicketServer.host)
    )
    hosts: dict[int, list[str]] = defaultdict(list)
    for ticket_id, host in session.execute(_of_opd(stmt, opd)):
        hosts[ticket_id].append(host)
    return {ticket_id: tuple(names) for ticket_id, names in hosts.items()}


class _Clock:
    """The deadlines and lateness at NOW on CAL, each computed once per distinct input."""

    def __init__(self, cal: WorkCalendar, now: datetime) -> None:
        self.cal, self.now = cal, as_utc(now)
        self.today = cal.local_day(self.now)
        self._deadlines: dict[tuple[date, int], Deadline] = {}
        self._late_days: dict[date, int] = {}

    def deadline(self, started: datetime, days: int) -> Deadline:
        key = (self.cal.local_day(started), days)
        if key not in self._deadlines:
            self._deadlines[key] = deadline(started, days, self.cal)
        return self._deadlines[key]

    def lateness(self, line: Deadline) -> Lateness:
        if line.due_day not in self._late_days:
            days = (self.today - line.due_day).days
            after = (line.due_day + timedelta(days=n) for n in range(1, days + 1))
            self._late_days[line.due_day] = sum(map(self.cal.is_working_day, after))
        hours = int((self.now - line.ends).total_seconds() // 3600)
        return Lateness(self._late_days[line.due_day], hours)


def _started(ticket: Ticket, done_at: datetime | None, cal: WorkCalendar) -> datetime:
    """When the next step started: when the step before was done; step 1, the letter's day."""
    if done_at is not None:
        return as_utc(done_at)  # SQLite gives it back naive, in UTC
    return datetime.combine(ticket.letter_date, time(), tzinfo=cal.zone)


def overdue_steps(
    session: Session, sop_of: TicketSop, cal: WorkCalendar, now: datetime, opd: str | None = None
) -> list[OverdueStep]:
    """The open tickets' next steps past their service level at NOW (of OPDs whose name
    contains OPD), the longest overdue first: one query, two when any is overdue.

    SOP_OF gives a ticket its SOP (`ticket_sop.ticket_sops`: each read once, one gone refused
    naming the ticket)."""
    clock = _Clock(cal, now)
    found: list[tuple[Ticket, int, Step, datetime, Deadline]] = []
    for ticket, done, done_at in session.execute(_open_tickets(opd)):
        step = step_after(sop_of(ticket), done or 0)
        if step is None or step.service_level_days is None:
            continue
        started = _started(ticket, done_at, cal)
        line = clock.deadline(started, step.service_level_days)
        if line.missed_at(clock.now):
            found.append((ticket, done or 0, step, started, line))
    return _with_servers(session, found, clock, opd)


def _with_servers(
    session: Session, found: Sequence[tuple[Ticket, int, Step, datetime, Deadline]],
    clock: _Clock, opd: str | None,
) -> list[OverdueStep]:  # fmt: skip
    if not found:
        return []
    hosts = _servers(session, opd)
    items = [OverdueStep(ticket, hosts.get(ticket.id, ()), done, step, started, line,
                         clock.lateness(line))
             for ticket, done, step, started, line in found]  # fmt: skip
    return sorted(items, key=lambda item: (item.deadline.ends, item.ticket.reference))


def newest_first(items: Sequence[OverdueStep]) -> list[OverdueStep]:
    """ITEMS in `ticket list`'s order: the newest ticket first."""
    return sorted(items, key=lambda item: (item.ticket.year, item.ticket.number), reverse=True)
