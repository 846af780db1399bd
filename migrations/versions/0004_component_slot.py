"""component slot

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 01:10:00.000000

Where a component sits in its server (`bay 2`, `PSU1`, `DIMM A1`): free text, as the
inventory's components sheet or file gives it. A plain ADD COLUMN: no row changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("component", sa.Column("slot", sa.String(length=50), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("component") as batch:
        batch.drop_column("slot")
