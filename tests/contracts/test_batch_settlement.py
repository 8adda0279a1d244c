"""Batch settlement (issue 16): an ESP claims many fees, a producer rates many locks, an ESP frees
its stake from many locks, each in one transaction, and every attack on the batch path fails.

Each test runs on one chain backend (``world``), the gas snapshot on both.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger import LockStatus, errors
from ledger.clients.batch import (
    BatchError,
    release_batch,
    submit_feedback_batch,
    withdraw_batch,
)
from ledger.gas_batch import GOALS, measure_batches
from tests.conftest import TEST_PARAMS, World
from tests.contracts.attack_kit import Attacker
from tests.contracts.helpers import FEE, lock_fee, register_esp

SNAPSHOT = json.loads((Path(__file__).parent / "gas_batch_snapshot.json").read_text())


def _acknowledged(world: World, n: int, *, receiver=None, sender=None, amount: int = FEE):
    sender = sender or world.producer
    receiver = receiver or world.esp
    out = []
    for i in range(n):
        lock, preimage = lock_fee(
            world, sender=sender, receiver=receiver.address, amount=amount + i, duration=3600
        )
        client = world.esps(sender)
        client.acknowledge(lock, client.sign_quote(receiver, lock))
        out.append((lock, preimage))
    return [lock for lock, _ in out], [p for _, p in out]


def test_an_esp_claims_many_fees_in_one_transaction(world):
    register_esp(world)
    locks, preimages = _acknowledged(world, 5)
    htlc = world.deployment.htlc
    esp_before = world.balance(world.esp.address)
    # Anyone may send it (the ESP's relayer here); each lock pays its own receiver.
    receipt = withdraw_batch(world.htlc(world.buyer), locks, preimages)
    assert world.balance(world.esp.address) == esp_before + sum(lock.amount for lock in locks)
    assert world.balance(htlc.address) == 0
    client = world.htlc(world.buyer)
    assert all(client.status(lock) is LockStatus.WITHDRAWN for lock in locks)
    # Every preimage is published, as a single withdraw publishes it (the producer's key to the
    # sealed delivery depends on it).
    assert [client.revealed_preimage(lock) for lock in locks] == preimages
    assert receipt["status"] == 1


def test_one_bad_preimage_reverts_the_whole_batch_and_moves_nothing(world):
    register_esp(world)
    locks, preimages = _acknowledged(world, 3)
    preimages[1] = bytes(32)
    esp_before = world.balance(world.esp.address)
    with pytest.raises(errors.LockPreimageMismatch) as exc:
        withdraw_batch(world.htlc(world.esp), locks, preimages)
    assert exc.value.id == locks[1].id
    client = world.htlc(world.esp)
    assert all(client.status(lock) is LockStatus.OPEN for lock in locks)
    assert world.balance(world.deployment.htlc.address) == sum(lock.amount for lock in locks)
    assert world.balance(world.esp.address) <= esp_before  # only gas left


def test_a_lock_repeated_in_a_batch_is_not_paid_twice(world):
    """The drain attempt: list one open lock twice (or three times) to be paid for each entry."""
    register_esp(world)
    (lock, other), (preimage, other_pre) = _acknowledged(world, 2)
    with pytest.raises(errors.LockNotOpen):
        withdraw_batch(world.htlc(world.esp), [lock, other, lock], [preimage, other_pre, preimage])
    assert world.balance(world.deployment.htlc.address) == lock.amount + other.amount


def test_an_expired_lock_in_a_batch_reverts_it(world):
    register_esp(world)
    fresh, fresh_pre = lock_fee(world, duration=3600)
    old, old_pre = lock_fee(world, duration=120)
    world.chain.increase_time(200)
    with pytest.raises(errors.LockExpired) as exc:
        withdraw_batch(world.htlc(world.esp), [fresh, old], [fresh_pre, old_pre])
    assert exc.value.id == old.id
    world.htlc(world.producer).refund(old)  # the producer's refund is untouched
    assert world.htlc(world.esp).status(fresh) is LockStatus.OPEN


def test_batches_with_several_receivers_conserve_value(world):
    """Runs of one receiver are merged into one transfer; interleaved receivers are paid exactly."""
    register_esp(world)
    register_esp(world, world.buyer)
    a, pa = lock_fee(world, receiver=world.esp.address, amount=FEE)
    b, pb = lock_fee(world, receiver=world.buyer.address, amount=2 * FEE)
    c, pc = lock_fee(world, receiver=world.esp.address, amount=3 * FEE)
    d, pd = lock_fee(world, receiver=world.esp.address, amount=4 * FEE)
    esp_before = world.balance(world.esp.address)
    buyer_before = world.balance(world.buyer.address)
    withdraw_batch(world.htlc(world.attacker), [a, b, c, d], [pa, pb, pc, pd])
    assert world.balance(world.esp.address) == esp_before + 8 * FEE
    assert world.balance(world.buyer.address) == buyer_before + 2 * FEE
    assert world.balance(world.deployment.htlc.address) == 0


def test_a_receiver_reentering_during_a_batch_payout_gains_nothing(world):
    register_esp(world)
    attacker = Attacker(world, world.attacker)
    htlc = world.deployment.htlc
    lock, preimage = lock_fee(world, receiver=attacker.address, duration=3600)
    other, other_pre = lock_fee(world, receiver=attacker.address, amount=2 * FEE, duration=3600)
    attacker.arm(htlc, "withdrawBatch", [other.as_tuple()], [other_pre])
    withdraw_batch(world.htlc(world.buyer), [lock], [preimage])
    assert attacker.attempted and not attacker.reentered
    assert world.balance(attacker.address) == FEE
    assert world.htlc(world.buyer).status(other) is LockStatus.OPEN


def test_a_receiver_refusing_ether_blocks_only_batches_that_include_it(world):
    register_esp(world)
    attacker = Attacker(world, world.attacker)
    attacker.tx.send(attacker.contract.functions.setRejectEther(True))
    bad, bad_pre = lock_fee(world, receiver=attacker.address)
    good, good_pre = lock_fee(world)
    with pytest.raises(errors.LockTransferFailed):
        withdraw_batch(world.htlc(world.esp), [good, bad], [good_pre, bad_pre])
    withdraw_batch(world.htlc(world.esp), [good], [good_pre])
    assert world.htlc(world.esp).status(good) is LockStatus.WITHDRAWN


def test_malformed_batches_are_refused(world):
    register_esp(world)
    (lock,), (preimage,) = _acknowledged(world, 1)
    # The client refuses before sending ...
    with pytest.raises(BatchError):
        withdraw_batch(world.htlc(world.esp), [lock], [])
    with pytest.raises(BatchError):
        withdraw_batch(world.htlc(world.esp), [], [])
    # ... and the contract refuses a hand-made call with its own error.
    fn = world.deployment.htlc.functions.withdrawBatch([lock.as_tuple()], [preimage, preimage])
    with pytest.raises(errors.LockBatchMismatch):
        world.tx(world.esp).send(fn)
    fn = world.deployment.esp_registry.functions.submitFeedbackBatch([lock.as_tuple()], [])
    with pytest.raises(errors.EspBatchMismatch):
        world.tx(world.producer).send(fn)


def test_a_producer_rates_many_locks_in_one_transaction(world):
    register_esp(world)
    locks, preimages = _acknowledged(world, 4)
    withdraw_batch(world.htlc(world.esp), locks, preimages)
    reg = world.esps(world.producer)
    assert reg.open_locks(world.esp.address) == 4  # withdrawn, still holding the stake
    submit_feedback_batch(reg, locks, [True, True, False, True])
    ev = reg.evidence(world.producer.address, world.esp.address)
    assert ev["positive"] > 0 and ev["negative"] > 0
    assert all(reg.feedback_recorded(lock) for lock in locks)
    assert reg.open_locks(world.esp.address) == 0


def test_feedback_batch_cannot_rate_someone_elses_lock_or_rate_twice(world):
    """A producer slipping a lock it did not pay into its batch, or repeating its own lock to
    count it twice, records nothing at all."""
    register_esp(world)
    mine, my_pre = _acknowledged(world, 2)
    theirs, their_pre = _acknowledged(world, 1, sender=world.buyer)
    withdraw_batch(world.htlc(world.esp), mine + theirs, my_pre + their_pre)
    reg = world.esps(world.producer)
    with pytest.raises(errors.FeedbackNotLockSender):
        submit_feedback_batch(reg, [mine[0], theirs[0]], [True, False])
    with pytest.raises(errors.FeedbackAlreadyRecorded):
        submit_feedback_batch(reg, [mine[0], mine[1], mine[0]], [True, True, True])
    assert not any(reg.feedback_recorded(lock) for lock in mine + theirs)


def test_an_esp_frees_its_stake_from_many_settled_locks(world):
    register_esp(world)
    locks, preimages = _acknowledged(world, 3)
    reg = world.esps(world.esp)
    assert reg.open_locks(world.esp.address) == 3
    with pytest.raises(errors.LockNotReleasable):  # still open: the stake must keep backing them
        release_batch(reg, locks)
    withdraw_batch(world.htlc(world.esp), locks, preimages)
    with pytest.raises(errors.LockNotReleasable):  # a repeated lock cannot release twice
        release_batch(reg, [locks[0], locks[0]])
    release_batch(reg, locks)
    assert reg.open_locks(world.esp.address) == 0


@pytest.mark.both_chains  # gas used is exact and the same on py-evm and anvil
def test_batch_gas_matches_snapshot_and_meets_goals(world):
    gas = measure_batches(world.chain, world.accounts, TEST_PARAMS)
    assert gas == SNAPSHOT, "refresh with `aigc bench gas --write-snapshot` and say why"
    missed = {op: gas[op] for op, goal in GOALS.items() if gas[op] > goal}
    assert not missed, f"batch gas goals missed: {missed}"
