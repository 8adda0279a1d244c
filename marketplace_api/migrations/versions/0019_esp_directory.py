"""The registered ESPs as the EspRegistry's events leave them (``esp_directory``): the task
draw and ``GET /v1/esps`` read their candidates in one query instead of one ``espInfo`` call per
registered ESP (1,000 ESPs: 1,001 ``eth_call`` per task post). Filled from the indexed events
(``chain_events`` holds every event of the deployment's contracts), the same fold as
:mod:`marketplace_api.esp_directory`, frozen here.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 11:50:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_EVENTS = (
    "EspRegistered",
    "EspUpdated",
    "EspDeregistered",
    "EspStakeAdded",
    "EspStakeWithdrawn",
    "EspSlashed",
    "ChallengeRecorded",
)


def _fold(esp: dict[str, Any], event: str, a: dict[str, Any]) -> None:
    if event == "EspRegistered":
        esp.update(active=True, endpoint=str(a["endpoint"]), price=str(int(a["price"])))
        esp["stake"] = str(int(a["stake"]))
    elif event == "EspUpdated":
        esp.update(endpoint=str(a["endpoint"]), price=str(int(a["price"])))
    elif event == "EspDeregistered":
        esp["active"] = False
    elif event == "EspStakeAdded":
        esp["stake"] = str(int(a["stake"]))
    elif event == "EspStakeWithdrawn":
        esp["stake"] = "0"
    elif event == "EspSlashed":
        esp["stake"] = str(int(a["stakeLeft"]))
    else:
        esp["challenges_lost"] = int(a["challengesLost"])


def upgrade() -> None:
    directory = op.create_table(
        "esp_directory",
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("listed", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("price", sa.String(length=80), nullable=False),
        sa.Column("stake", sa.String(length=80), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("challenges_lost", sa.Integer(), nullable=False),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )
    with op.batch_alter_table("esp_directory", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_esp_directory_active"), ["active"], unique=False)
    events = sa.table(
        "chain_events",
        sa.column("block_number", sa.BigInteger()),
        sa.column("log_index", sa.Integer()),
        sa.column("contract", sa.String()),
        sa.column("event", sa.String()),
        sa.column("args", sa.JSON()),
    )
    rows = op.get_bind().execute(
        sa.select(events.c.block_number, events.c.event, events.c.args)
        .where(events.c.contract == "EspRegistry", events.c.event.in_(_EVENTS))
        .order_by(events.c.block_number, events.c.log_index)
    )
    esps: dict[str, dict[str, Any]] = {}
    for block, event, args in rows:
        esp = esps.setdefault(
            args["esp"],
            {
                "address": args["esp"],
                "listed": len(esps),
                "endpoint": "",
                "price": "0",
                "stake": "0",
                "active": False,
                "challenges_lost": 0,
            },
        )
        _fold(esp, event, args)
        esp["updated_block"] = block
    if esps:
        op.bulk_insert(directory, list(esps.values()))


def downgrade() -> None:
    with op.batch_alter_table("esp_directory", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_esp_directory_active"))
    op.drop_table("esp_directory")
