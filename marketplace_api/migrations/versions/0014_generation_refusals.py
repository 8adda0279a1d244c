"""Generation refusals: openings ``PUT /v1/products/{id}/generation`` regenerated and refused,
remembered (the newest 64 per product) so that replaying one costs the API no regeneration.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "generation_refusals",
        sa.Column("token_id", sa.String(length=66), nullable=False),
        sa.Column("opening", sa.String(length=64), nullable=False),
        sa.Column("refused_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("token_id", "opening"),
    )
    with op.batch_alter_table("generation_refusals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_generation_refusals_refused_ns"), ["refused_ns"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("generation_refusals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_generation_refusals_refused_ns"))
    op.drop_table("generation_refusals")
