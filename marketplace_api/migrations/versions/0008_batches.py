"""Batch registration (issue 16): the batches table, and products know their collection

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("batch_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("producer", sa.String(length=42), nullable=False),
        sa.Column("esp", sa.String(length=42), nullable=False),
        sa.Column("start_id", sa.String(length=66), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("fp_root", sa.String(length=66), nullable=False),
        sa.Column("items_root", sa.String(length=66), nullable=False),
        sa.Column("task_id", sa.String(length=66), nullable=False),
        sa.Column("model_id", sa.String(length=66), nullable=False),
        sa.Column("priority_block", sa.BigInteger(), nullable=False),
        sa.Column("commit_block", sa.BigInteger(), nullable=False),
        sa.Column("reveal_block", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("metadata_uri", sa.Text(), nullable=False),
        sa.Column("fingerprints", sa.JSON(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("batch_id"),
    )
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batches_producer"), ["producer"], unique=False)
        batch_op.create_index(batch_op.f("ix_batches_esp"), ["esp"], unique=False)
        batch_op.create_index(batch_op.f("ix_batches_reveal_block"), ["reveal_block"], unique=False)
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("collection", sa.String(length=16), server_default="registry", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("collection")
    op.drop_table("batches")
