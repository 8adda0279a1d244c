"""Generation openings: the prompt and seed that regenerate a product's image, published by
whoever knows them (``PUT /v1/products/{id}/generation``) and checked on the bundled model when
stored; committee jurors re-run them to tell an accused generation from a copy.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "generation_openings",
        sa.Column("token_id", sa.String(length=66), nullable=False),
        sa.Column("model_id", sa.String(length=200), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("token_id"),
    )


def downgrade() -> None:
    op.drop_table("generation_openings")
