"""The BatchCourt (issue 16): an image registered in a batch revokes a later single Registry copy
under the same rules as every other pair, and every attack on that path fails with its exact
error: a later batched item, forged or malformed proofs and openings,
a non-owner, a contest won with a non-matching detail, one ESP attesting both (an equivocation),
a direct call of the Registry's hook; value moves as a Registry revocation's (the copy's bond:
`challengeReward` to the challenger, the rest burned; its ESP slashed, the slash burned)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ledger import errors, new_secret
from ledger.clients.batch_court import BatchCourtClient
from ledger.clients.batch_registry import ItemOpening
from ledger.clients.registry import DisputeState, TokenStatus
from ledger.tx import call
from tests.contracts.attack_kit import burn_address, proof
from tests.contracts.batch_kit import random_fingerprints, register_batch, tid
from tests.contracts.helpers import (
    BASE_FP,
    ESP_STAKE,
    NEAR_FP,
    copier_esp,
    details,
    past_reclaim,
    register_esp,
    register_image,
)


def court(world, account) -> BatchCourtClient:
    return BatchCourtClient(world.deployment, world.tx(account))


def _batched_original_and_single_copy(world, *, copy_detail: bytes, copy_esp=None):
    """The producer's batch (world.esp) holds BASE_FP with the camera's detail; later the
    attacker registers a single NEAR_FP copy (another ESP unless ``copy_esp``) with
    ``copy_detail``. Returns (original, its plan, copy)."""
    register_esp(world)
    a_id, pa = register_batch(
        world,
        world.producer,
        fingerprints=[*random_fingerprints(2, seed=5), BASE_FP],
        item_details=[details()["far"], details()["far"], details()["base"]],
        esp=world.esp,
    )
    original = tid(a_id, pa.fingerprints.index(BASE_FP))
    copy = register_image(
        world, world.attacker, esp=copy_esp, fingerprint=NEAR_FP, detail=copy_detail
    )
    return original, pa, copy


def _challenge(world, original, pa, copy, *, who=None, **over):
    ia = original & 0xFFFFFFFF
    args = {
        "fp_a": pa.fingerprints[ia],
        "proof_a": pa.fp_proof(ia),
        "record_b": proof(world, copy),
    }
    args.update(over)
    c = court(world, who or world.producer)
    return c.challenge(original, args["fp_a"], args["proof_a"], copy, args["record_b"])


def _resolve(world, original, pa, copy, *, who=None, **over):
    ia = original & 0xFFFFFFFF
    args = {
        "detail_a": details()["base"],
        "opening_a": pa.opening(ia),
        "detail_b": world.registry(world.deployer).registered(copy).detail,
        "record_b": proof(world, copy),
    }
    args.update(over)
    return court(world, who or world.buyer).resolve(original, copy, **args)


def _esp_lost(world, esp: str) -> tuple[int, int]:
    info = world.esps(world.deployer).esp_info(esp)
    return info.stake, info.challenges_lost


def test_uncontested_batched_original_revokes_the_single_copy(world):
    original, pa, copy = _batched_original_and_single_copy(world, copy_detail=details()["near"])
    p = world.params
    c = court(world, world.producer)
    registry = world.deployment.registry.address
    held = world.balance(registry)
    burned = world.balance(burn_address(world))
    _challenge(world, original, pa, copy)
    assert world.balance(c.address) == p.challenge_deposit
    assert c.dispute(original, copy).state is DisputeState.OPEN
    with pytest.raises(errors.CourtDisputeWindow):  # not before the window passed
        c.finalize(original, copy, proof(world, copy))
    world.chain.mine(p.dispute_window_blocks + 1)
    before = world.balance(world.producer.address)
    assert court(world, world.buyer).finalize(original, copy, proof(world, copy))  # anyone
    assert world.registry(world.deployer).record(copy).status is TokenStatus.REVOKED
    assert c.dispute(original, copy).state is DisputeState.UPHELD
    # The copy's ESP is slashed at once, the slash burned (a challenge slash paid to anyone is
    # farmable); the original's is untouched. Deposit and bond are held for the reward hold.
    esps = world.esps(world.deployer)
    assert _esp_lost(world, copier_esp(world).address) == (ESP_STAKE - p.esp_slash_amount, 1)
    assert _esp_lost(world, world.esp.address) == (ESP_STAKE, 0)
    assert world.balance(registry) == held - p.registration_bond
    assert world.balance(c.address) == p.challenge_deposit + p.registration_bond
    assert esps.compensation_of(burn_address(world)) == p.esp_slash_amount
    assert world.balance(world.producer.address) == before
    world.chain.mine(p.reward_hold_blocks)
    court(world, world.buyer).settle(original, copy)
    assert c.dispute(original, copy).state is DisputeState.SETTLED
    # The challenger: its deposit back and the reward; the rest of the bond burned.
    assert world.balance(world.producer.address) == (
        before + p.challenge_deposit + p.challenge_reward
    )
    assert world.balance(burn_address(world)) == burned + p.registration_bond - p.challenge_reward
    assert world.balance(c.address) == 0
    assert esps.compensation_of(c.address) == 0
    # Decided once; the revoked copy cannot be challenged again.
    with pytest.raises(errors.CourtDisputeState):
        c.finalize(original, copy, proof(world, copy))
    with pytest.raises(errors.CourtTokenRevoked):
        _challenge(world, original, pa, copy)


def test_contested_real_copy_is_revoked_by_the_detail_rule(world):
    original, pa, copy = _batched_original_and_single_copy(world, copy_detail=details()["near"])
    p = world.params
    c = court(world, world.producer)
    _challenge(world, original, pa, copy)
    with pytest.raises(errors.CourtDisputeState):  # nothing to resolve before a contest
        _resolve(world, original, pa, copy)
    court(world, world.attacker).contest(original, copy)
    assert c.dispute(original, copy).state is DisputeState.CONTESTED
    assert world.balance(c.address) == 2 * p.challenge_deposit
    before = world.balance(world.producer.address)
    assert _resolve(world, original, pa, copy)
    assert world.registry(world.deployer).record(copy).status is TokenStatus.REVOKED
    world.chain.mine(p.reward_hold_blocks)
    court(world, world.buyer).settle(original, copy)
    assert world.balance(world.producer.address) == (
        before + 2 * p.challenge_deposit + p.challenge_reward
    )
    assert world.balance(c.address) == 0


def test_the_copys_owner_contests_and_wins_with_a_non_matching_detail(world):
    """A compact false match (the fingerprints are close, the images are not): contested, the
    detail rule says no; the contester takes both deposits, nothing is revoked or slashed."""
    original, pa, copy = _batched_original_and_single_copy(world, copy_detail=details()["far"])
    p = world.params
    _challenge(world, original, pa, copy)
    owner = court(world, world.attacker)
    owner.contest(original, copy)
    before = world.balance(world.attacker.address)
    assert not _resolve(world, original, pa, copy)
    assert world.balance(world.attacker.address) == before + 2 * p.challenge_deposit
    assert owner.dispute(original, copy).state is DisputeState.REJECTED
    assert world.registry(world.deployer).record(copy).status is TokenStatus.ACTIVE
    assert _esp_lost(world, copier_esp(world).address) == (ESP_STAKE, 0)
    assert world.balance(owner.address) == 0


def test_contested_and_never_resolved_is_rejected(world):
    original, pa, copy = _batched_original_and_single_copy(world, copy_detail=details()["near"])
    p = world.params
    _challenge(world, original, pa, copy)
    court(world, world.attacker).contest(original, copy)
    world.chain.mine(p.dispute_window_blocks + 1)
    before = world.balance(world.attacker.address)
    assert not court(world, world.buyer).finalize(original, copy, proof(world, copy))
    assert world.balance(world.attacker.address) == before + 2 * p.challenge_deposit
    assert world.registry(world.deployer).record(copy).status is TokenStatus.ACTIVE


def test_a_later_batched_item_cannot_revoke_an_earlier_single(world):
    register_esp(world)
    single = register_image(world, world.attacker, fingerprint=NEAR_FP)
    b_id, pb = register_batch(
        world,
        world.producer,
        fingerprints=[BASE_FP],
        item_details=[details()["base"]],
        esp=world.esp,
    )
    with pytest.raises(errors.CourtChallengeOutOfOrder):
        _challenge(world, tid(b_id, 0), pb, single)
    assert world.registry(world.deployer).record(single).status is TokenStatus.ACTIVE


def test_same_esp_equivocation_revokes_nothing(world):
    """One ESP attested the batch item and the single copy: it chose whose lock is older, so
    priority cannot decide and nothing is revoked (as in the batch path)."""
    original, pa, copy = _batched_original_and_single_copy(
        world, copy_detail=details()["near"], copy_esp=world.esp
    )
    with pytest.raises(errors.CourtSameEsp):
        _challenge(world, original, pa, copy)
    assert world.registry(world.deployer).record(copy).status is TokenStatus.ACTIVE


def test_forged_or_malformed_proofs_revoke_nothing(world):
    original, pa, copy = _batched_original_and_single_copy(world, copy_detail=details()["near"])
    ia = original & 0xFFFFFFFF
    real = proof(world, copy)
    # Challenge: another fingerprint than the item's, a proof of another leaf, a copy's record
    # claiming a later priority or another ESP, an index past the batch.
    with pytest.raises(errors.CourtBadProof):
        _challenge(world, original, pa, copy, fp_a=NEAR_FP)
    with pytest.raises(errors.CourtBadProof):
        _challenge(world, original, pa, copy, proof_a=pa.fp_proof((ia + 1) % pa.count))
    with pytest.raises(errors.CourtBadProof):
        _challenge(world, original, pa, copy, record_b=replace(real, priority_block=10**9))
    with pytest.raises(errors.CourtBadProof):
        _challenge(world, original, pa, copy, record_b=replace(real, esp=world.buyer.address))
    with pytest.raises(errors.CourtUnknownToken):  # an index past the batch
        court(world, world.producer).challenge(
            original - ia + pa.count, pa.fingerprints[ia], pa.fp_proof(ia), copy, real
        )
    with pytest.raises(errors.CourtUnknownToken):  # no such single token
        court(world, world.producer).challenge(
            original, pa.fingerprints[ia], pa.fp_proof(ia), copy + 1, real
        )
    with pytest.raises(errors.CourtWrongValue):
        court(world, world.producer).challenge(
            original, pa.fingerprints[ia], pa.fp_proof(ia), copy, real, deposit=1
        )
    # Another item of the same batch, far from the copy, is not admissible.
    other = next(i for i, fp in enumerate(pa.fingerprints) if fp != BASE_FP)
    with pytest.raises(errors.CourtNotAdmissible):
        court(world, world.producer).challenge(
            original - ia + other, pa.fingerprints[other], pa.fp_proof(other), copy, real
        )
    # Resolve: the item's opening with another detail, an unused proof step, another seed; the
    # copy's detail that its record does not hold.
    _challenge(world, original, pa, copy)
    court(world, world.attacker).contest(original, copy)
    opening = pa.opening(ia)
    for bad in (
        {"detail_a": details()["near"]},
        {
            "opening_a": ItemOpening(
                opening.content_hash, opening.seed, (*opening.proof, b"\1" * 32)
            )
        },
        {"opening_a": replace(opening, seed=opening.seed + 1)},
        {"opening_a": replace(opening, proof=opening.proof[:-1])},
    ):
        with pytest.raises(errors.CourtBadProof) as exc:
            _resolve(world, original, pa, copy, **bad)
        assert exc.value.tokenId == original
    with pytest.raises(errors.CourtBadProof) as exc:
        _resolve(world, original, pa, copy, detail_b=details()["base"])
    assert exc.value.tokenId == copy
    with pytest.raises(errors.CourtBadProof):
        _resolve(world, original, pa, copy, record_b=replace(real, esp=world.esp.address))
    c = court(world, world.producer)
    assert c.dispute(original, copy).state is DisputeState.CONTESTED
    assert world.registry(world.deployer).record(copy).status is TokenStatus.ACTIVE


def test_only_the_owners_challenge_and_contest(world):
    original, pa, copy = _batched_original_and_single_copy(world, copy_detail=details()["near"])
    with pytest.raises(errors.CourtNotOwner):  # not the batch item's owner
        _challenge(world, original, pa, copy, who=world.buyer)
    _challenge(world, original, pa, copy)
    with pytest.raises(errors.CourtDisputeExists):
        _challenge(world, original, pa, copy)
    with pytest.raises(errors.CourtNotOwner):  # not the copy's owner
        court(world, world.buyer).contest(original, copy)
    with pytest.raises(errors.CourtNotOwner):  # nor the challenger
        court(world, world.producer).contest(original, copy)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    with pytest.raises(errors.CourtDisputeWindow):  # too late to contest
        court(world, world.attacker).contest(original, copy)


def test_only_the_court_can_revoke_through_the_registry_hook(world):
    original, _, copy = _batched_original_and_single_copy(world, copy_detail=details()["near"])
    registry = world.deployment.registry
    for who in (world.attacker, world.producer, world.deployer):
        with pytest.raises(errors.RegistryUnauthorizedCourt):
            world.tx(who).send(
                registry.functions.revokeCopied(
                    copy, original, copier_esp(world).address, who.address
                )
            )
    assert world.registry(world.deployer).record(copy).status is TokenStatus.ACTIVE
    # The court takes Ether only from the Registry (a revoked copy's bond).
    payment = {"from": world.attacker.address, "to": court(world, world.attacker).address}
    with pytest.raises(errors.CourtWrongValue):
        call(lambda: world.chain.w3.eth.call({**payment, "value": 1}))


def test_a_copy_revoked_meanwhile_voids_the_challenge(world):
    """The copy revoked by another challenge while this one was open: nothing left to decide,
    the deposit returns, no second slash."""
    register_esp(world)
    twin = BASE_FP[:-1] + bytes([BASE_FP[-1] ^ 2])  # a second item near the copy too
    a_id, pa = register_batch(
        world,
        world.producer,
        fingerprints=[BASE_FP, twin],
        item_details=[details()["base"], details()["base"]],
        esp=world.esp,
    )
    first, second = (
        tid(a_id, pa.fingerprints.index(BASE_FP)),
        tid(a_id, pa.fingerprints.index(twin)),
    )
    copy = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()["near"])
    c = court(world, world.producer)
    _challenge(world, first, pa, copy)
    _challenge(world, second, pa, copy)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert c.finalize(first, copy, proof(world, copy))
    before = world.balance(world.producer.address)
    assert not court(world, world.buyer).finalize(second, copy, proof(world, copy))
    assert c.dispute(second, copy).state is DisputeState.VOID
    assert world.balance(world.producer.address) == before + world.params.challenge_deposit
    assert _esp_lost(world, copier_esp(world).address)[1] == 1


def test_a_single_original_revoked_by_the_court_loses_its_held_registry_win(world):
    """The court's revocation is a revocation like any other for the Registry: a single token
    that revoked a later copy at the Registry, then is itself revoked through the court as a copy
    of an earlier batched item, has its held win reversed at `settle` (the copy reinstated)."""
    register_esp(world)
    a_id, pa = register_batch(
        world,
        world.producer,
        fingerprints=[BASE_FP],
        item_details=[details()["base"]],
        esp=world.esp,
    )
    batched = tid(a_id, 0)
    middle = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()["near"])
    third = register_esp(world, world.accounts[7])
    later_fp = NEAR_FP[:-1] + bytes([NEAR_FP[-1] ^ 4])
    later = register_image(
        world, world.buyer, esp=third, fingerprint=later_fp, detail=details()["near"]
    )
    single = world.registry(world.attacker)
    single.challenge(middle, later)
    _challenge(world, batched, pa, middle)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert single.finalize(middle, later)  # `later` revoked, its bond held
    assert court(world, world.producer).finalize(batched, middle, proof(world, middle))
    records = world.registry(world.deployer)
    assert records.record(middle).status is TokenStatus.REVOKED
    world.registry(world.buyer).settle(middle, later)
    assert records.dispute(middle, later).state is DisputeState.REVERSED
    assert records.record(later).status is TokenStatus.ACTIVE


def test_an_escrowed_copy_is_answered_for_by_its_producer(world):
    """While the hash-time-lock escrow holds the single copy (a pending sale), its producer, not
    the escrow nor the buyer, may contest; the buyer may not."""
    original, pa, copy = _batched_original_and_single_copy(world, copy_detail=details()["far"])
    deployment = world.deployment
    past_reclaim(world)  # the escrow takes the single once no earlier payer can reclaim it
    world.registry(world.attacker).approve(deployment.htlc.address, copy)
    _, hashlock = new_secret()
    world.htlc(world.attacker).lock_erc721(
        deployment.registry.address,
        world.buyer.address,
        token_id=copy,
        hashlock=hashlock,
        timelock=world.chain.w3.eth.get_block("latest")["timestamp"] + 3600,
    )
    assert world.registry(world.deployer).owner_of(copy) == deployment.htlc.address
    _challenge(world, original, pa, copy)
    with pytest.raises(errors.CourtNotOwner):
        court(world, world.buyer).contest(original, copy)
    court(world, world.attacker).contest(original, copy)
    assert not _resolve(world, original, pa, copy)  # another image: the contest wins
    assert world.registry(world.deployer).record(copy).status is TokenStatus.ACTIVE
