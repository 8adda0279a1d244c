"""Batch attestation requests: producer -> ESP through the marketplace (issue 16)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 14:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch_requests",
        sa.Column("id", sa.String(length=66), nullable=False),
        sa.Column("producer", sa.String(length=42), nullable=False),
        sa.Column("esp", sa.String(length=42), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("attestation", sa.JSON(), nullable=True),
        sa.Column("refusal", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("batch_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batch_requests_producer"), ["producer"], unique=False)
        batch_op.create_index(batch_op.f("ix_batch_requests_esp"), ["esp"], unique=False)
        batch_op.create_index(batch_op.f("ix_batch_requests_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_batch_requests_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("batch_requests")
