"""Contract accounts (EIP-1271 / ERC-6492) keep a key record without a public key of their own,
so they can register a delivery key (docs/delivery.md)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 07:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account_keys", schema=None) as batch_op:
        batch_op.alter_column(
            "public_key",
            existing_type=sa.String(length=132),
            existing_nullable=False,
            nullable=True,
        )


def downgrade() -> None:
    # Rows of contract accounts have no public key to keep: they go (they re-register).
    op.execute("DELETE FROM account_keys WHERE public_key IS NULL")
    with op.batch_alter_table("account_keys", schema=None) as batch_op:
        batch_op.alter_column(
            "public_key",
            existing_type=sa.String(length=132),
            existing_nullable=True,
            nullable=False,
        )
