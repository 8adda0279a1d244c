"""Wallet-native sealed delivery: an account's registered delivery key (docs/delivery.md)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 07:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_key", sa.String(length=68), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account_keys", schema=None) as batch_op:
        batch_op.drop_column("delivery_key")
