"""Tasks carry a commitment to their prompt: the ESP reads the prompt only after the fee lock
(issue 11, "an ESP can take its customer's image"; services.generation.prompt), and the ESP's
refusal of a locked task (a released prompt that does not open the commitment it quoted on)

``prompt_salt`` and ``prompt_commitment`` = keccak256("aigc-prompt-commitment-v1" || salt ||
utf8(prompt)). Existing tasks get a fresh random salt each and the commitment of their prompt, so
every row reads as a new one does (their ESPs saw those prompts already; nothing is lost).
``refusal`` ({code, message}) is null for them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 14:10:00
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op
from eth_utils import keccak

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_TAG = b"aigc-prompt-commitment-v1"  # frozen here: services.generation.PROMPT_TAG at 0011


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prompt_salt", sa.String(length=66), nullable=True))
        batch_op.add_column(sa.Column("prompt_commitment", sa.String(length=66), nullable=True))
        batch_op.add_column(sa.Column("refusal", sa.JSON(), nullable=True))
    conn = op.get_bind()
    tasks = sa.table(
        "tasks",
        sa.column("id", sa.String),
        sa.column("prompt", sa.Text),
        sa.column("prompt_salt", sa.String),
        sa.column("prompt_commitment", sa.String),
    )
    for task_id, prompt in conn.execute(sa.select(tasks.c.id, tasks.c.prompt)).all():
        salt = secrets.token_bytes(32)
        conn.execute(
            tasks.update()
            .where(tasks.c.id == task_id)
            .values(
                prompt_salt="0x" + salt.hex(),
                prompt_commitment="0x" + keccak(_TAG + salt + prompt.encode("utf-8")).hex(),
            )
        )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.alter_column("prompt_salt", existing_type=sa.String(length=66), nullable=False)
        batch_op.alter_column(
            "prompt_commitment", existing_type=sa.String(length=66), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("refusal")
        batch_op.drop_column("prompt_commitment")
        batch_op.drop_column("prompt_salt")
