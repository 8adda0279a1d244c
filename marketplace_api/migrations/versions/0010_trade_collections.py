"""Listings and trades name their collection: the Registry or the BatchRegistry (issue 16)

A token is (collection, token id): a batched item is listed and traded like a single
registration. Existing rows are the Registry's (the server default fills them on both SQLite and
PostgreSQL), so every listing and trade made before keeps its meaning.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TABLES = ("listings", "trades")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "collection", sa.String(length=16), server_default="registry", nullable=False
                )
            )


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("collection")
