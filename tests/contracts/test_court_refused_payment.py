"""The BatchCourt pays as the Registry and the BatchRegistry do (325b0e3): a payment its receiver
refuses is kept for it (``withdrawOwed``) instead of reverting the call that pays it. Before, a
court party that is a contract refusing Ether made ``resolve`` revert ``CourtTransferFailed``
every time, and its Void branch refunds both sides, so it also locked the challenger's deposit."""

from __future__ import annotations

from ledger.clients.batch_court import BatchCourtClient
from ledger.clients.registry import DisputeState, TokenStatus
from tests.contracts.attack_kit import Attacker, proof
from tests.contracts.batch_kit import register_batch, tid
from tests.contracts.helpers import (
    BASE_FP,
    NEAR_FP,
    details,
    past_reclaim,
    register_esp,
    register_image,
)
from tests.contracts.test_batch_court import _batched_original_and_single_copy, _challenge, _resolve


def court(world, account) -> BatchCourtClient:
    return BatchCourtClient(world.deployment, world.tx(account))


def test_a_contester_refusing_ether_cannot_block_a_court_decision(world):
    """The single copy's owner is a contract that refuses Ether; it contests and wins (another
    image). ``resolve`` succeeds, the court keeps the two deposits for it and pays nobody else;
    ``withdrawOwed`` pays them once, after it accepts Ether again, and a second call pays
    nothing."""
    original, pa, copy = _batched_original_and_single_copy(world, copy_detail=details()["far"])
    deposit = world.params.challenge_deposit
    sybil = Attacker(world, world.attacker)
    past_reclaim(world)  # a fresh token does not move (RegistryTokenReclaimable)
    world.registry(world.attacker).transfer(sybil.address, copy)
    sybil.tx.send(sybil.contract.functions.setRejectEther(True))
    _challenge(world, original, pa, copy)
    batch_court = world.deployment.batch_court
    sybil.execute(batch_court, "contest", original, copy, value=deposit)
    held = world.balance(batch_court.address)
    assert held >= 2 * deposit
    producer_before = world.balance(world.producer.address)
    sybil_before = world.balance(sybil.address)

    assert not _resolve(world, original, pa, copy)  # refused by the contester: not reverted

    assert court(world, world.buyer).dispute(original, copy).state is DisputeState.REJECTED
    assert world.registry(world.deployer).record(copy).status is TokenStatus.ACTIVE
    assert world.balance(batch_court.address) == held  # kept for the refusing contester
    assert world.balance(sybil.address) == sybil_before
    assert world.balance(world.producer.address) == producer_before  # nothing to the challenger
    # the refusing contract cannot take it while it still refuses: kept again, not lost
    sybil.execute(batch_court, "withdrawOwed")
    assert world.balance(batch_court.address) == held
    sybil.tx.send(sybil.contract.functions.setRejectEther(False))
    sybil.execute(batch_court, "withdrawOwed")
    assert world.balance(sybil.address) == sybil_before + 2 * deposit
    assert world.balance(batch_court.address) == held - 2 * deposit
    sybil.execute(batch_court, "withdrawOwed")  # paid once: nothing left
    assert world.balance(sybil.address) == sybil_before + 2 * deposit
    assert world.balance(batch_court.address) == held - 2 * deposit
    assert world.balance(world.producer.address) == producer_before


def test_a_refusing_contester_cannot_lock_the_challengers_refund(world):
    """A Void decision (the copy revoked by another challenge meanwhile) refunds both sides: the
    challenger's deposit is paid at once although the contester refuses its own, which is kept
    for it and paid once by ``withdrawOwed``."""
    register_esp(world)
    twin = BASE_FP[:-1] + bytes([BASE_FP[-1] ^ 2])  # a second item near the copy too
    a_id, pa = register_batch(
        world,
        world.producer,
        fingerprints=[BASE_FP, twin],
        item_details=[details()["base"], details()["base"]],
        esp=world.esp,
    )
    first = tid(a_id, pa.fingerprints.index(BASE_FP))
    second = tid(a_id, pa.fingerprints.index(twin))
    copy = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()["near"])
    deposit = world.params.challenge_deposit
    sybil = Attacker(world, world.attacker)
    past_reclaim(world)  # a fresh token does not move (RegistryTokenReclaimable)
    world.registry(world.attacker).transfer(sybil.address, copy)
    sybil.tx.send(sybil.contract.functions.setRejectEther(True))
    _challenge(world, first, pa, copy)
    _challenge(world, second, pa, copy)
    batch_court = world.deployment.batch_court
    sybil.execute(batch_court, "contest", original := second, copy, value=deposit)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert court(world, world.buyer).finalize(first, copy, proof(world, copy))  # revoked
    held = world.balance(batch_court.address)
    producer_before = world.balance(world.producer.address)
    sybil_before = world.balance(sybil.address)

    assert not _resolve(world, original, pa, copy)  # the buyer resolves: not reverted

    assert court(world, world.buyer).dispute(original, copy).state is DisputeState.VOID
    assert world.balance(world.producer.address) == producer_before + deposit
    assert world.balance(batch_court.address) == held - deposit  # the contester's kept
    assert world.balance(sybil.address) == sybil_before
    sybil.tx.send(sybil.contract.functions.setRejectEther(False))
    sybil.execute(batch_court, "withdrawOwed")
    sybil.execute(batch_court, "withdrawOwed")  # paid once
    assert world.balance(sybil.address) == sybil_before + deposit
    assert world.balance(batch_court.address) == held - 2 * deposit
    assert world.balance(world.producer.address) == producer_before + deposit
