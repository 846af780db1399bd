"""tickets

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 01:00:00.000000

`pelihara ticket new`: the maintenance tickets of an SOP, their servers and the steps done.
A ticket's status is the one thing that changes; its servers and its steps are
append-only, as `snapshot` (the database's triggers refuse UPDATE and DELETE).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pelihara.inventory.audit_guards import drop_statements, guard_statements

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

APPEND_ONLY = ("ticket_server", "ticket_step")


def _ticket() -> None:
    op.create_table(
        "ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sop_name", sa.String(length=100), nullable=False),
        sa.Column("sop_revision", sa.String(length=20), nullable=False),
        sa.Column("opd_id", sa.Integer(), nullable=False),
        sa.Column("opd_name", sa.String(length=200), nullable=False),
        sa.Column("letter_number", sa.String(length=100), nullable=False),
        sa.Column("letter_date", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("intents", sa.Text(), nullable=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_by_nip", sa.String(length=30), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'done')", name=op.f("ck_ticket_status_valid")),
        sa.ForeignKeyConstraint(["opd_id"], ["opd.id"], name=op.f("fk_ticket_opd_id_opd")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket")),
        sa.UniqueConstraint("reference", name=op.f("uq_ticket_reference")),
        sa.UniqueConstraint("year", "number", name=op.f("uq_ticket_year")),
    )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_opd_id"), ["opd_id"])
        batch_op.create_index(batch_op.f("ix_ticket_status"), ["status"])


def _ticket_server() -> None:
    op.create_table(
        "ticket_server",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_server_ticket_id_ticket")
        ),
        sa.ForeignKeyConstraint(
            ["server_id"], ["server.id"], name=op.f("fk_ticket_server_server_id_server")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_server")),
        sa.UniqueConstraint("ticket_id", "server_id", name=op.f("uq_ticket_server_ticket_id")),
    )
    with op.batch_alter_table("ticket_server", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_server_server_id"), ["server_id"])
        batch_op.create_index(batch_op.f("ix_ticket_server_ticket_id"), ["ticket_id"])


def _ticket_step() -> None:
    op.create_table(
        "ticket_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("person_name", sa.String(length=200), nullable=False),
        sa.Column("person_nip", sa.String(length=30), nullable=True),
        sa.Column("on_behalf_of_name", sa.String(length=200), nullable=True),
        sa.Column("on_behalf_of_nip", sa.String(length=30), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_step_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_step")),
        sa.UniqueConstraint("ticket_id", "step", name=op.f("uq_ticket_step_ticket_id")),
    )
    with op.batch_alter_table("ticket_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_step_ticket_id"), ["ticket_id"])


def upgrade() -> None:
    _ticket()
    _ticket_server()
    _ticket_step()
    for table in APPEND_ONLY:
        for statement in guard_statements(op.get_bind().dialect.name, table):
            op.execute(statement)


def downgrade() -> None:
    for table in APPEND_ONLY:
        for statement in drop_statements(op.get_bind().dialect.name, table):
            op.execute(statement)
    op.drop_table("ticket_step")
    op.drop_table("ticket_server")
    op.drop_table("ticket")
