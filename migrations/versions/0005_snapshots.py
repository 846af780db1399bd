"""snapshots

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 01:40:00.000000

`pelihara snapshot take`: one row per server and take, the canonical document and its
SHA-256. Append-only, as the audit log: the database's own triggers refuse UPDATE and
DELETE (and TRUNCATE on PostgreSQL); `audit verify` checks that they are still there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pelihara.inventory.audit_guards import drop_statements, guard_statements

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("ticket", sa.String(length=100), nullable=True),
        sa.Column("phase", sa.String(length=10), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("probes", sa.String(length=100), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "phase IN ('pre', 'post', 'adhoc')", name=op.f("ck_snapshot_phase_valid")
        ),
        sa.ForeignKeyConstraint(
            ["server_id"], ["server.id"], name=op.f("fk_snapshot_server_id_server")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshot")),
        sa.UniqueConstraint("sha256", name=op.f("uq_snapshot_sha256")),
    )
    with op.batch_alter_table("snapshot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_snapshot_host"), ["host"], unique=False)
        batch_op.create_index(batch_op.f("ix_snapshot_server_id"), ["server_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_snapshot_ticket"), ["ticket"], unique=False)
    for statement in guard_statements(op.get_bind().dialect.name, "snapshot"):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_statements(op.get_bind().dialect.name, "snapshot"):
        op.execute(statement)
    with op.batch_alter_table("snapshot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_snapshot_ticket"))
        batch_op.drop_index(batch_op.f("ix_snapshot_server_id"))
        batch_op.drop_index(batch_op.f("ix_snapshot_host"))
    op.drop_table("snapshot")
