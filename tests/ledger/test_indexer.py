"""The indexer: events into SQL, idempotent, resumable, confirmations, and reorgs."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from ledger.indexer import ChainEvent, DatabaseOfAnotherDeployment, Indexer, ReorgTooDeep
from tests.contracts.helpers import lock_fee, register_esp, register_image

# Logs, blocks and reorgs are read through each backend's own interface.
pytestmark = pytest.mark.both_chains


@pytest.fixture
def engine(tmp_path):
    return create_engine(f"sqlite:///{tmp_path / 'index.db'}")


def _count(engine) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(ChainEvent)))


def test_events_are_indexed_with_decoded_args(world, engine):
    register_esp(world)
    lock, _ = lock_fee(world)
    indexer = Indexer(world.deployment, engine)
    result = indexer.poll()
    assert result.events == 2  # EspRegistered, Locked
    locked = indexer.events("Locked")
    assert len(locked) == 1
    args = locked[0].args
    assert args["id"] == "0x" + lock.id.hex() and args["receiver"] == world.esp.address
    assert args["amount"] == lock.amount and locked[0].contract == "HashTimeLock"
    block = world.chain.w3.eth.get_block(locked[0].block_number)
    assert locked[0].block_time == block["timestamp"]


def test_an_event_is_named_after_the_contract_that_emitted_it(world, engine):
    """The Registry and the BatchRegistry share event signatures (Transfer, Revoked, ...): a log
    decoded by its topic alone was labelled with the contract deployed last, so the trade
    projection never saw the Registry's Revoked and a revoked copy's trade stayed open."""
    register_esp(world)
    register_image(world, world.producer)
    indexer = Indexer(world.deployment, engine)
    indexer.poll()
    transfers = indexer.events("Transfer")
    assert transfers and {e.contract for e in transfers} == {"Registry"}
    assert {e.contract for e in indexer.events("Registered")} == {"Registry"}


def test_polling_again_or_replaying_adds_nothing(world, engine):
    register_esp(world)
    lock_fee(world)
    indexer = Indexer(world.deployment, engine)
    indexer.poll()
    n = _count(engine)
    assert indexer.poll().events == 0 and _count(engine) == n
    # a crash that lost the checkpoint but kept rows: re-ingesting is idempotent
    replay = Indexer(world.deployment, engine)
    with Session(engine) as s, s.begin():
        from ledger.indexer import Checkpoint

        s.execute(Checkpoint.__table__.delete())
    replay.poll()
    assert _count(engine) == n


def test_refuses_a_database_that_indexes_another_deployment(world, engine):
    from ledger import deploy

    register_esp(world)
    Indexer(world.deployment, engine).poll()
    n = _count(engine)
    other = deploy(world.chain, world.chain.dev_accounts()[0])
    with pytest.raises(DatabaseOfAnotherDeployment, match="use a fresh database") as caught:
        Indexer(other, engine)
    assert caught.value.indexed == Indexer(world.deployment, engine).key
    assert _count(engine) == n  # nothing written
    assert Indexer(other, create_engine("sqlite://")).poll().events == 0  # a fresh one is fine


def test_a_chain_started_afresh_is_another_deployment(tmp_path):
    from ledger import EmbeddedChain, deploy

    engine = create_engine(f"sqlite:///{tmp_path / 'index.db'}")
    first = EmbeddedChain()
    old = deploy(first, first.dev_accounts()[0])
    Indexer(old, engine).poll()
    again = EmbeddedChain()  # same genesis, same deployer: same addresses
    again.mine(3)
    new = deploy(again, again.dev_accounts()[0])
    assert new.manifest.address("Registry") == old.manifest.address("Registry")
    with pytest.raises(DatabaseOfAnotherDeployment):
        Indexer(new, engine)


def test_a_checkpoint_under_the_older_key_is_adopted_when_still_on_chain(world, engine):
    from ledger.indexer import Checkpoint

    register_esp(world)
    indexer = Indexer(world.deployment, engine)
    indexer.poll()
    done = indexer.checkpoint()
    legacy = indexer.key.rsplit(":", 1)[0]
    with Session(engine) as s, s.begin():
        s.get(Checkpoint, indexer.key).deployment = legacy
    again = Indexer(world.deployment, engine)
    assert again.key == indexer.key and again.checkpoint() == done
    assert again.poll().events == 0


def test_resumes_from_the_checkpoint(world, engine):
    register_esp(world)
    first = Indexer(world.deployment, engine)
    first.poll()
    done, _ = first.checkpoint()
    lock_fee(world)
    second = Indexer(world.deployment, engine)  # a restarted process
    result = second.poll()
    assert result.from_block == done + 1 and len(second.events("Locked")) == 1


def test_confirmations_hold_back_recent_blocks(world, engine):
    register_esp(world)
    indexer = Indexer(world.deployment, engine, confirmations=3)
    indexer.poll()
    assert indexer.events("EspRegistered") == []
    world.chain.mine(3)
    indexer.poll()
    assert len(indexer.events("EspRegistered")) == 1


def test_reorg_removes_the_orphaned_branch_and_follows_the_new_one(world, engine):
    register_esp(world)
    indexer = Indexer(world.deployment, engine, batch_blocks=2)
    indexer.poll()
    fork_point = world.chain.snapshot()
    lock_fee(world, amount=111)
    indexer.poll()
    assert [e.args["amount"] for e in indexer.events("Locked")] == [111]
    world.chain.revert(fork_point)  # the chain drops the block with the lock...
    lock_fee(world, amount=222)  # ...and mines another branch instead
    world.chain.mine(1)
    result = indexer.poll()
    assert result.rewound_to is not None
    assert [e.args["amount"] for e in indexer.events("Locked")] == [222]
    assert (
        indexer.checkpoint()[1]
        == "0x" + bytes(world.chain.w3.eth.get_block(indexer.checkpoint()[0])["hash"]).hex()
    )


def test_a_reorg_deeper_than_the_limit_stops_loudly(world, engine):
    register_esp(world)
    fork_point = world.chain.snapshot()
    world.chain.mine(4)
    indexer = Indexer(world.deployment, engine, max_reorg_depth=2)
    indexer.poll()
    before = _count(engine)
    world.chain.revert(fork_point)
    lock_fee(world)  # a different first block: every block of the new branch differs
    world.chain.mine(5)
    with pytest.raises(ReorgTooDeep):
        indexer.poll()
    assert _count(engine) == before  # nothing changed: an operator decides


def test_bad_settings_are_refused(world, engine):
    with pytest.raises(ValueError, match="confirmations"):
        Indexer(world.deployment, engine, confirmations=-1)
