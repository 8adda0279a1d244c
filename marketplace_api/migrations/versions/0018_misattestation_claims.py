"""Mis-attestation claims at the BatchCourt (``misattestation_claims``): each round of a token's
claim, its state and its committee review's reveal deadline, so the product and batch item
views say a token is under a claim (or was revoked by one) without a wallet reading the chain.
Filled from the indexed events (``chain_events`` holds every event of the deployment's
contracts): the same fold as :mod:`marketplace_api.misattestations`, frozen here. The history
rows the projection writes from now on (``misattestation_claimed``/``_decided``) are not
back-filled: the claims table is what the views and the sale path's display read.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 11:40:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_STATES = {1: "open", 2: "contested", 3: "upheld", 4: "rejected", 5: "void"}


def _token(value: Any) -> str:
    n = int(value, 16) if isinstance(value, str) and value.startswith("0x") else int(value)
    return "0x" + format(n, "064x")


def upgrade() -> None:
    claims = op.create_table(
        "misattestation_claims",
        sa.Column("token_id", sa.String(length=66), nullable=False),
        sa.Column("round", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("claimant", sa.String(length=42), nullable=False),
        sa.Column("esp", sa.String(length=42), nullable=False),
        sa.Column("review_key", sa.String(length=66), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("claimed_block", sa.BigInteger(), nullable=False),
        sa.Column("claim_tx", sa.String(length=66), nullable=False),
        sa.Column("review", sa.String(length=16), nullable=False),
        sa.Column("review_deadline", sa.BigInteger(), nullable=True),
        sa.Column("decided_block", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("token_id", "round"),
    )
    with op.batch_alter_table("misattestation_claims", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_misattestation_claims_claimed_block"), ["claimed_block"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_misattestation_claims_review_key"), ["review_key"], unique=False
        )
    events = sa.table(
        "chain_events",
        sa.column("block_number", sa.BigInteger()),
        sa.column("log_index", sa.Integer()),
        sa.column("tx_hash", sa.String()),
        sa.column("contract", sa.String()),
        sa.column("event", sa.String()),
        sa.column("args", sa.JSON()),
    )
    wanted = (
        "MisattestationClaimed",
        "MisattestationDecided",
        "ReviewDrawn",
        "ReviewRearmed",
        "ReviewCancelled",
    )
    rows = op.get_bind().execute(
        sa.select(events.c.block_number, events.c.tx_hash, events.c.event, events.c.args)
        .where(events.c.event.in_(wanted))
        .order_by(events.c.block_number, events.c.log_index)
    )
    fold: dict[tuple[str, int], dict[str, Any]] = {}
    by_key: dict[str, dict[str, Any]] = {}
    for block, tx, event, args in rows:
        if event == "MisattestationClaimed":
            token = _token(args["tokenId"])
            n = 1 + sum(1 for t, _ in fold if t == token)
            fold[token, n] = by_key[args["key"]] = {
                "token_id": token,
                "round": n,
                "claimant": args["claimant"],
                "esp": args["esp"],
                "review_key": args["key"],
                "state": "open",
                "claimed_block": block,
                "claim_tx": tx,
                "review": "requested",
                "review_deadline": None,
                "decided_block": None,
            }
        elif event == "MisattestationDecided":
            token = _token(args["tokenId"])
            opened = [c for (t, _), c in fold.items() if t == token and c["state"] == "open"]
            if opened:
                opened[-1]["state"] = _STATES.get(int(args["state"]), "void")
                opened[-1]["decided_block"] = block
        elif args.get("key") in by_key:
            claim = by_key[args["key"]]
            if event == "ReviewDrawn":
                claim["review"], claim["review_deadline"] = "drawn", int(args["revealDeadline"])
            else:
                claim["review"] = "requested" if event == "ReviewRearmed" else "cancelled"
                claim["review_deadline"] = None
    if fold:
        op.bulk_insert(claims, list(fold.values()))


def downgrade() -> None:
    with op.batch_alter_table("misattestation_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_misattestation_claims_review_key"))
        batch_op.drop_index(batch_op.f("ix_misattestation_claims_claimed_block"))
    op.drop_table("misattestation_claims")
