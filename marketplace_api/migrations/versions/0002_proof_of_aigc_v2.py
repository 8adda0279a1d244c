"""Proof-of-AIGC v2: a product's challenge priority and detail descriptor

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority_block", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("commit_block", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("detail_hash", sa.String(length=66), nullable=True))
        batch_op.add_column(sa.Column("detail", sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f("ix_products_priority_block"), ["priority_block"])


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_priority_block"))
        batch_op.drop_column("detail")
        batch_op.drop_column("detail_hash")
        batch_op.drop_column("commit_block")
        batch_op.drop_column("priority_block")
