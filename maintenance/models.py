"""The maintenance tables: tickets, the servers they concern, and the steps done.

What may change: a ticket's STATUS (`open`, then `done`) and CLOSED_AT, nothing else of its
row is written after creation. A step done (`ticket_step`) and a ticket's servers
(`ticket_server`) are never updated or deleted: the database's own triggers refuse it, as
for the audit log and the snapshots (`inventory/audit_guards.py` APPEND_ONLY).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pelihara.inventory.db import Base
from pelihara.inventory.models import utcnow

STATUSES = ("open", "done")
# What a ticket record (`ticket_record`) may be: the evidence of steps 5, 6, 8 and 9 and the
# files attached to a step (`ticket attach`).
RECORD_KINDS = (
    "completeness_form", "announcement", "withdrawal", "no_withdrawal", "report", "attachment",
)  # fmt: skip


class Ticket(Base):
    """One maintenance ticket of an SOP (its name and revision kept: the file may change).

    REFERENCE is `YYYY/NNNN` (`2026/0001`): the year it was created in the data center's
    zone and its number in that year (YEAR, NUMBER). OPD_NAME is the OPD's name when the
    ticket was made (OPD_ID follows a rename). INTENTS is the canonical JSON of the diff's
    intents (`intents_to_dict`), or NULL."""

    __tablename__ = "ticket"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'done')", name="status_valid"),
        UniqueConstraint("year", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    sop_name: Mapped[str] = mapped_column(String(100))
    sop_revision: Mapped[str] = mapped_column(String(20))
    opd_id: Mapped[int] = mapped_column(ForeignKey("opd.id"), index=True)
    opd_name: Mapped[str] = mapped_column(String(200))
    letter_number: Mapped[str] = mapped_column(String(100))
    letter_date: Mapped[date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text)
    intents: Mapped[str | None] = mapped_column(Text)
    window_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    created_by_nip: Mapped[str | None] = mapped_column(String(30))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    servers: Mapped[list[TicketServer]] = relationship(order_by="TicketServer.host")
    steps: Mapped[list[TicketStep]] = relationship(order_by="TicketStep.step")
    records: Mapped[list[TicketRecord]] = relationship(order_by="TicketRecord.id")


class TicketServer(Base):
    """A server of a ticket; HOST its hostname when the ticket was made."""

    __tablename__ = "ticket_server"
    __table_args__ = (UniqueConstraint("ticket_id", "server_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("server.id"), index=True)
    host: Mapped[str] = mapped_column(String(253))


class TicketStep(Base):
    """A step of a ticket, done: when, by whom (the configured person, with their NIP), for
    whom (an official who signed on paper: `--on-behalf-of`), and ACTOR, what the system
    vouched for (`os user root`, `database role budi, OS user budi`). ATTACHMENTS: the
    SHA-256 of each scan given with the step (`--attach`), separated by spaces."""

    __tablename__ = "ticket_step"
    __table_args__ = (UniqueConstraint("ticket_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    done_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    person_name: Mapped[str] = mapped_column(String(200))
    person_nip: Mapped[str | None] = mapped_column(String(30))
    on_behalf_of_name: Mapped[str | None] = mapped_column(String(200))
    on_behalf_of_nip: Mapped[str | None] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    attachments: Mapped[str | None] = mapped_column(Text)  # SHA-256s of the scans, spaced


class TicketRecord(Base):
    """A piece of evidence recorded on a ticket, never updated or deleted (the database's
    triggers refuse it): the completeness form the OPD confirmed (step 5), the announcement
    and to whom (6), a component withdrawn or the decision that none was (8), the report (9),
    a file attached to a step (`ticket attach`).

    KIND is one of RECORD_KINDS; STEP the SOP step it serves; who recorded it as for a step
    (PERSON_NAME, PERSON_NIP, ON_BEHALF_OF_*, ACTOR). SHA256 is the hash of the document or
    file it stands for (a file's content is in the data directory, `attachments/<sha256>`,
    never in the database); SERIAL the component's serial for a withdrawal. DATA is the
    canonical JSON of the rest (`{"confirmed_by": ..., "form": {...}}`, `{"to": [...]}`,
    `{"reason": ...}`, `{"name": "foto.jpg", "size": 123}`)."""

    __tablename__ = "ticket_record"
    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind}'" for kind in RECORD_KINDS) + ")", name="kind_valid"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    step: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    person_name: Mapped[str] = mapped_column(String(200))
    person_nip: Mapped[str | None] = mapped_column(String(30))
    on_behalf_of_name: Mapped[str | None] = mapped_column(String(200))
    on_behalf_of_nip: Mapped[str | None] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    serial: Mapped[str | None] = mapped_column(String(100), index=True)
    data: Mapped[str] = mapped_column(Text)  # canonical JSON
