"""snapshot diffs

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 03:00:00.000000

`pelihara snapshot diff --ticket REF`: one row per host and distinct diff of the ticket's
`pre` and `post` snapshots, linked to both by id and SHA-256, with the rules' and the
intents' hashes and the canonical diff document with its own. Append-only, as `snapshot`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pelihara.inventory.audit_guards import drop_statements, guard_statements

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _sha256(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=64), nullable=False)


def upgrade() -> None:
    op.create_table(
        "snapshot_diff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(length=100), nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("before_snapshot_id", sa.Integer(), nullable=False),
        _sha256("before_sha256"),
        sa.Column("after_snapshot_id", sa.Integer(), nullable=False),
        _sha256("after_sha256"),
        _sha256("rules_sha256"),
        sa.Column("intents", sa.Text(), nullable=True),
        _sha256("intents_sha256"),
        sa.Column("document", sa.Text(), nullable=False),
        _sha256("sha256"),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["server_id"], ["server.id"], name=op.f("fk_snapshot_diff_server_id_server")
        ),
        sa.ForeignKeyConstraint(
            ["before_snapshot_id"],
            ["snapshot.id"],
            name=op.f("fk_snapshot_diff_before_snapshot_id_snapshot"),
        ),
        sa.ForeignKeyConstraint(
            ["after_snapshot_id"],
            ["snapshot.id"],
            name=op.f("fk_snapshot_diff_after_snapshot_id_snapshot"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshot_diff")),
        sa.UniqueConstraint(
            "before_sha256",
            "after_sha256",
            "rules_sha256",
            "intents_sha256",
            "sha256",
            name=op.f("uq_snapshot_diff_before_sha256"),
        ),
    )
    with op.batch_alter_table("snapshot_diff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_snapshot_diff_server_id"), ["server_id"])
        batch_op.create_index(batch_op.f("ix_snapshot_diff_ticket"), ["ticket"])
    for statement in guard_statements(op.get_bind().dialect.name, "snapshot_diff"):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_statements(op.get_bind().dialect.name, "snapshot_diff"):
        op.execute(statement)
    with op.batch_alter_table("snapshot_diff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_snapshot_diff_ticket"))
        batch_op.drop_index(batch_op.f("ix_snapshot_diff_server_id"))
    op.drop_table("snapshot_diff")
