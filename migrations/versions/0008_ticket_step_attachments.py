"""ticket step attachments

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 01:00:00.000000

`pelihara ticket advance --attach SCAN`: the SHA-256 of each scan kept on the step (the
files themselves are in the data directory, `attachments/<sha256>`, never in the database).
A plain ADD COLUMN: the append-only triggers of `ticket_step` name no column, so they stay.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ticket_step", sa.Column("attachments", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("ticket_step", "attachments")
