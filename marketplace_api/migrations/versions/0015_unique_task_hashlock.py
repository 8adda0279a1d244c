"""One hashlock, one task: ``tasks.hashlock`` is unique. The indexer attaches a fee lock to the
quoted task whose hashlock it carries, so an ESP quoting two of a producer's tasks under one
hashlock had the lock paid for one release the other's prompt, unpaid. The quote route's own
check raced (two concurrent quotes both passed it); the database now refuses the second.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 23:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_hashlock"))
        batch_op.create_index(batch_op.f("ix_tasks_hashlock"), ["hashlock"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_hashlock"))
        batch_op.create_index(batch_op.f("ix_tasks_hashlock"), ["hashlock"], unique=False)
