"""audit log MAC

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 09:00:00.000000

Each audit entry also carries an HMAC-SHA-256 of its content under the audit key (which
never enters the database). Entries written before this revision keep a NULL MAC.
A plain ADD COLUMN, not a batch copy of the table: the copy would lose the append-only
triggers, and ADD COLUMN updates no row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("mac", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_log", "mac")
