"""ticket records

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 01:00:00.000000

The evidence a ticket records besides its steps: the completeness form confirmed by the OPD
(step 5), the announcement and to whom (6), each component withdrawn or the decision that
none was (8), the report (9), and files attached to a step (`ticket attach`). Append-only,
as `ticket_step` (the database's triggers refuse UPDATE and DELETE).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pelihara.inventory.audit_guards import drop_statements, guard_statements

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

KINDS = ("completeness_form", "announcement", "withdrawal", "no_withdrawal", "report", "attachment")


def upgrade() -> None:
    op.create_table(
        "ticket_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("person_name", sa.String(length=200), nullable=False),
        sa.Column("person_nip", sa.String(length=30), nullable=True),
        sa.Column("on_behalf_of_name", sa.String(length=200), nullable=True),
        sa.Column("on_behalf_of_nip", sa.String(length=30), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("serial", sa.String(length=100), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind}'" for kind in KINDS) + ")",
            name=op.f("ck_ticket_record_kind_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_record_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_record")),
    )
    with op.batch_alter_table("ticket_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_record_ticket_id"), ["ticket_id"])
        batch_op.create_index(batch_op.f("ix_ticket_record_sha256"), ["sha256"])
        batch_op.create_index(batch_op.f("ix_ticket_record_serial"), ["serial"])
    for statement in guard_statements(op.get_bind().dialect.name, "ticket_record"):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_statements(op.get_bind().dialect.name, "ticket_record"):
        op.execute(statement)
    op.drop_table("ticket_record")
