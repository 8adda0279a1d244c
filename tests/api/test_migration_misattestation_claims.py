"""Migration 0018 fills ``misattestation_claims`` from the events the indexer stored before it
(``chain_events`` holds every event of the deployment's contracts): a database upgraded in
place shows the claims opened and decided before the upgrade, with their rounds and deadlines."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, insert, select
from sqlalchemy.orm import Session

from ledger.indexer import ChainEvent
from marketplace_api.migrate import alembic_config
from marketplace_api.models import MisattestationClaimRow

TOKEN = 2**200 + 7  # a single registration's id (a content hash): beyond 2**53, stored as text
OTHER = (5 << 32) | 1  # a batch item
CLAIMANT = "0x" + "11" * 20
ESP = "0x" + "22" * 20
CLAIMED = "MisattestationClaimed"
KEYS = ["0x" + f"{n:02x}" * 32 for n in (1, 2, 3)]


def _event(block: int, contract: str, event: str, args: dict) -> dict:
    return {
        "block_number": block,
        "block_hash": "0x" + f"{block:064x}",
        "block_time": 1_700_000_000 + block,
        "tx_hash": "0x" + f"{block:064x}",
        "log_index": 0,
        "contract": contract,
        "event": event,
        "args": args,
    }


def test_the_claims_indexed_before_the_upgrade_are_filled_in(database_url):
    config = alembic_config(database_url)
    command.upgrade(config, "0017")
    engine = create_engine(database_url)
    court, committee = "BatchCourt", "CommitteeVerifier"
    opened = {"claimant": CLAIMANT, "esp": ESP}
    big = str(TOKEN)
    decided = {"tokenId": big, "claimant": CLAIMANT, "state": 5}  # Void
    drawn = {"key": KEYS[0], "jurors": [], "commitDeadline": 20, "revealDeadline": 30}
    rows = [
        _event(10, court, CLAIMED, {"tokenId": big, "key": KEYS[0], **opened}),
        _event(11, committee, "ReviewDrawn", drawn),
        _event(31, court, "MisattestationDecided", decided),
        _event(40, court, CLAIMED, {"tokenId": big, "key": KEYS[1], **opened}),
        _event(41, court, CLAIMED, {"tokenId": OTHER, "key": KEYS[2], **opened}),
        _event(42, committee, "ReviewCancelled", {"key": KEYS[2]}),
    ]
    with engine.begin() as conn:
        conn.execute(insert(ChainEvent.__table__), rows)
    command.upgrade(config, "head")
    with Session(engine) as session:
        got = {
            (c.token_id, c.round): (c.state, c.review, c.review_deadline, c.decided_block)
            for c in session.scalars(select(MisattestationClaimRow))
        }
    token, other = "0x" + f"{TOKEN:064x}", "0x" + f"{OTHER:064x}"
    assert got == {
        (token, 1): ("void", "drawn", 30, 31),
        (token, 2): ("open", "requested", None, None),
        (other, 1): ("open", "cancelled", None, None),
    }
    engine.dispose()
