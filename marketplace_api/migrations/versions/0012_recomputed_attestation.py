"""Products keep what the API recomputed from the image bytes it holds: ``image_fingerprint``
and ``attestation`` ("matches" or "mismatch"; null until an image is attached). A token whose
attested fingerprint or detail descriptor is not its image's is neither listed nor sold
(red team 2: a plagiarist's own ESP attests a copy with another image's values).

Existing products with an image were attached under the old check (the fingerprint had to
match, the descriptor was not compared): they stay null ("unchecked") until attached again.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image_fingerprint", sa.String(length=66), nullable=True))
        batch_op.add_column(sa.Column("attestation", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("attestation")
        batch_op.drop_column("image_fingerprint")
