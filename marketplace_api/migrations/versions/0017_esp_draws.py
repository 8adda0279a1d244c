"""ESP draws summed per ESP and decay period (``esp_draws``): a responsiveness check reads a row
per candidate ESP and period instead of every task the selection drew it for (the established
ESPs' draws grow with the market). Filled from the tasks drawn so far.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 08:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

PERIOD = 86_400  # ReputationParams.period, the decay period the API's engine uses
WINDOW = 600  # services.reputation.responsiveness.QUOTE_WINDOW


def upgrade() -> None:
    op.create_table(
        "esp_draws",
        sa.Column("esp", sa.String(length=42), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("drawn", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("esp", "epoch"),
    )
    op.execute(
        "INSERT INTO esp_draws (esp, epoch, drawn, answered) "
        f"SELECT esp, drawn_at / {PERIOD}, count(*), "
        f"sum(CASE WHEN quoted_at IS NOT NULL AND quoted_at - drawn_at <= {WINDOW} "
        "THEN 1 ELSE 0 END) "
        f"FROM tasks WHERE drawn_at IS NOT NULL GROUP BY esp, drawn_at / {PERIOD}"
    )


def downgrade() -> None:
    op.drop_table("esp_draws")
