"""Task draws: when the selection drew a task's ESP (``tasks.drawn_at``, chain time; null for a
task addressed to its ESP) and when that ESP quoted it (``tasks.quoted_at``). The responsiveness
log (``marketplace_api/draws.py``) reads them, so an idle newcomer's missed draws outlive a
restart and every API process sees the same.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drawn_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("quoted_at", sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f("ix_tasks_drawn_at"), ["drawn_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_drawn_at"))
        batch_op.drop_column("quoted_at")
        batch_op.drop_column("drawn_at")
