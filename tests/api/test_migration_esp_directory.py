"""Migration 0019 fills ``esp_directory`` from the EspRegistry events the indexer stored before
it: an API upgraded in place draws from every ESP registered before the upgrade, with the state
its events left (an exit, a repricing, a slash, a rejoin), in the registry's order."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, insert, select
from sqlalchemy.orm import Session

from ledger.indexer import ChainEvent
from marketplace_api.migrate import alembic_config
from marketplace_api.models import EspDirectoryRow

A, B = "0x" + "aa" * 20, "0x" + "bb" * 20
STAKE = 10**17


def _event(n: int, event: str, args: dict) -> dict:
    return {
        "block_number": n,
        "block_hash": "0x" + f"{n:064x}",
        "block_time": 1_700_000_000 + n,
        "tx_hash": "0x" + f"{n:064x}",
        "log_index": 0,
        "contract": "EspRegistry",
        "event": event,
        "args": args,
    }


def test_the_esps_registered_before_the_upgrade_are_filled_in(database_url):
    config = alembic_config(database_url)
    command.upgrade(config, "0018")
    engine = create_engine(database_url)
    big = str(2**60)  # a price beyond 2**53: stored as text by the indexer
    rows = [
        _event(1, "EspRegistered", {"esp": B, "endpoint": "http://b", "price": 5, "stake": STAKE}),
        _event(2, "EspRegistered", {"esp": A, "endpoint": "http://a", "price": 7, "stake": STAKE}),
        _event(3, "EspUpdated", {"esp": A, "endpoint": "http://a2", "price": big}),
        _event(4, "ChallengeRecorded", {"esp": B, "challengesLost": 1}),
        _event(5, "EspSlashed", {"esp": B, "injured": A, "amount": 9, "stakeLeft": 10**16}),
        _event(6, "EspDeregistered", {"esp": B, "unbondingEndsAt": 99}),
        _event(7, "EspStakeAdded", {"esp": A, "amount": 1, "stake": STAKE + 1}),
    ]
    with engine.begin() as conn:
        conn.execute(insert(ChainEvent.__table__), rows)
    command.upgrade(config, "head")
    with Session(engine) as session:
        got = [
            (e.address, e.listed, e.active, e.endpoint, e.price, e.stake, e.challenges_lost)
            for e in session.scalars(select(EspDirectoryRow).order_by(EspDirectoryRow.listed))
        ]
    assert got == [
        (B, 0, False, "http://b", "5", str(10**16), 1),
        (A, 1, True, "http://a2", big, str(STAKE + 1), 0),
    ]
    engine.dispose()
