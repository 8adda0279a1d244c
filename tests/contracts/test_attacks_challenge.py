"""Challenge abuse (by later registrants, non-owners, with wrong deposits, against oneself, beyond
the admissibility threshold, on revoked tokens, with forged proofs or details, out of its window,
settling early or twice), each shown failing.

Every test runs on the backend of ``world``: the guard holds with the exact custom
error, or balances and ownership come out exact.
"""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount

from ledger import LockTerms, TokenStatus, errors, new_secret
from ledger.clients.registry import DisputeState
from tests.conftest import World
from tests.contracts.attack_kit import (
    HOUR,
    burn_address,
    gas_cost,
    proof,
    register_image,
    settle_after_hold,
)
from tests.contracts.helpers import (
    BASE_FP,
    FAR_FP,
    NEAR_FP,
    challenge_and_finalize,
    copier_esp,
    details,
    past_reclaim,
    register_esp,
)

# --- challenge abuse -------------------------------------------------------------------------


def _original_and_copy(
    world: World, copy_fp: bytes = NEAR_FP, copy_detail: str = "near"
) -> tuple[int, int]:
    """The producer's image, then the attacker's later registration with ``copy_fp``."""
    register_esp(world)
    original = register_image(world, world.producer, world.producer.address, fp=BASE_FP)
    copy = register_image(
        world, world.attacker, world.attacker.address, fp=copy_fp, detail=details()[copy_detail]
    )
    return original, copy


def _escrow(world: World, token: int, owner: LocalAccount) -> LockTerms:
    """``owner`` lists ``token`` in the hash-time-lock escrow (an open ERC-721 lock), once no
    earlier payer can reclaim it (the escrow refuses it before: ``RegistryTokenReclaimable``)."""
    past_reclaim(world)
    registry = world.registry(owner)
    registry.approve(world.deployment.htlc.address, token)
    _, hashlock = new_secret()
    return world.htlc(owner).lock_erc721(
        registry.address,
        world.buyer.address,
        token_id=token,
        hashlock=hashlock,
        timelock=world.chain.timestamp() + HOUR,
    )


def test_later_registrant_cannot_challenge_an_earlier_one(world):
    original, copy = _original_and_copy(world)
    with pytest.raises(errors.RegistryChallengeOutOfOrder) as exc:
        world.registry(world.attacker).challenge(copy, original)
    assert exc.value.original == copy and exc.value.duplicate == original
    assert challenge_and_finalize(world, world.producer, original, copy) is True  # the owner wins
    assert world.registry(world.buyer).record(copy).status is TokenStatus.REVOKED


def test_challenge_by_a_non_owner_is_refused(world):
    original, copy = _original_and_copy(world)
    with pytest.raises(errors.RegistryNotOwner) as exc:
        world.registry(world.buyer).challenge(original, copy)
    assert exc.value.tokenId == original and exc.value.caller == world.buyer.address.lower()
    # The right to challenge follows the token: once sold, the seller has lost it.
    past_reclaim(world)  # a fresh token does not move (RegistryTokenReclaimable)
    world.registry(world.producer).transfer(world.buyer.address, original)
    with pytest.raises(errors.RegistryNotOwner):
        world.registry(world.producer).challenge(original, copy)
    assert challenge_and_finalize(world, world.buyer, original, copy) is True


def test_upheld_challenge_holds_the_deposit_then_pays_only_the_reward(world):
    original, copy = _original_and_copy(world)
    bond, reward = world.params.registration_bond, world.params.challenge_reward
    deposit = world.params.challenge_deposit
    registry = world.deployment.registry.address
    before = world.balance(world.producer.address)
    challenger = world.registry(world.producer)
    challenger.challenge(original, copy)
    spent = gas_cost(challenger.last_receipt)
    assert world.balance(registry) == 2 * bond + deposit
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert world.registry(world.buyer).finalize(original, copy) is True
    # The copy is revoked; its bond and the challenger's deposit are held until `settle`.
    assert world.balance(world.producer.address) == before - spent - deposit
    assert world.balance(registry) == 2 * bond + deposit
    copier = copier_esp(world).address  # the copy's ESP
    assert world.esps(world.buyer).challenges_lost(copier) == 0  # not final yet
    burned = world.balance(burn_address(world))
    settle_after_hold(world, original, copy)
    assert world.balance(world.producer.address) == before - spent + reward
    assert world.balance(burn_address(world)) == burned + bond - reward
    assert world.balance(registry) == bond  # only the original's, at stake
    assert world.esps(world.buyer).challenges_lost(copier) == 1
    assert challenger.dispute(original, copy).state is DisputeState.SETTLED
    with pytest.raises(errors.RegistryDisputeState) as exc:  # no second payout
        challenger.settle(original, copy)
    assert exc.value.state == DisputeState.SETTLED


def test_revoked_token_cannot_move_be_listed_challenge_or_contest(world):
    original, copy = _original_and_copy(world)
    later = register_image(world, world.buyer, world.buyer.address, fp=NEAR_FP)
    assert challenge_and_finalize(world, world.producer, original, copy)
    thief = world.registry(world.attacker)
    with pytest.raises(errors.RegistryTokenRevoked) as exc:
        thief.transfer(world.buyer.address, copy)
    assert exc.value.tokenId == copy
    thief.approve(world.deployment.htlc.address, copy)  # approving moves nothing...
    _, hashlock = new_secret()
    with pytest.raises(errors.RegistryTokenRevoked):  # ...and listing it in the HTLC is refused
        world.htlc(world.attacker).lock_erc721(
            thief.address,
            world.buyer.address,
            token_id=copy,
            hashlock=hashlock,
            timelock=world.chain.timestamp() + HOUR,
        )
    with pytest.raises(errors.RegistryTokenRevoked):
        thief.challenge(copy, later)
    with pytest.raises(errors.RegistryTokenRevoked):  # no second revocation of the same copy
        world.registry(world.producer).challenge(original, copy)
    with pytest.raises(errors.RegistryDisputeState) as late:  # too late to contest
        thief.contest(original, copy)
    assert late.value.state == DisputeState.UPHELD
    assert thief.owner_of(copy) == world.attacker.address


def test_token_revoked_while_escrowed_still_leaves_the_escrow(world):
    original, copy = _original_and_copy(world)
    lock = _escrow(world, copy, world.attacker)
    assert challenge_and_finalize(world, world.producer, original, copy)
    world.chain.increase_time(HOUR + 1)
    world.htlc(world.attacker).refund(lock)
    assert world.registry(world.buyer).owner_of(copy) == world.attacker.address  # not stuck...
    with pytest.raises(errors.RegistryTokenRevoked):  # ...but frozen once out
        world.registry(world.attacker).transfer(world.buyer.address, copy)


def test_inadmissible_challenge_is_refused_and_costs_no_deposit(world):
    original, other = _original_and_copy(world, copy_fp=FAR_FP, copy_detail="far")
    registry = world.registry(world.producer)
    threshold = registry.params()["match_threshold"]
    distance = registry.fingerprint_distance(BASE_FP, FAR_FP)
    assert distance > threshold
    with pytest.raises(errors.RegistryNotAdmissible) as exc:
        registry.challenge(original, other)
    assert (exc.value.original, exc.value.duplicate, exc.value.distance) == (
        original,
        other,
        distance,
    )
    assert world.balance(registry.address) == 2 * world.params.registration_bond
    assert registry.dispute(original, other).state is DisputeState.NONE


@pytest.mark.parametrize("escrowed", [False, True])
def test_false_match_contested_forfeits_the_deposit_to_the_accused(world, escrowed):
    """The compact fingerprints match (admissible), the details do not: the accused contests
    (even while its token is listed in the escrow) and takes both deposits."""
    original, other = _original_and_copy(world, copy_fp=NEAR_FP, copy_detail="far")
    if escrowed:  # the escrow takes no Ether, the token's producer contests and is paid
        _escrow(world, other, world.attacker)
    deposit, bond = world.params.challenge_deposit, world.params.registration_bond
    challenger_before = world.balance(world.producer.address)
    accused_before = world.balance(world.attacker.address)
    registry = world.registry(world.producer)
    registry.challenge(original, other)
    challenger_spent = gas_cost(registry.last_receipt)
    accused = world.registry(world.attacker)
    accused.contest(original, other)
    accused_spent = gas_cost(accused.last_receipt)

    assert world.registry(world.buyer).resolve(original, other) is False

    assert world.balance(world.producer.address) == challenger_before - deposit - challenger_spent
    assert world.balance(world.attacker.address) == accused_before + deposit - accused_spent
    assert world.balance(world.deployment.htlc.address) == 0
    assert world.balance(registry.address) == 2 * bond
    assert registry.record(other).status is TokenStatus.ACTIVE
    assert registry.dispute(original, other).contester == world.attacker.address


def test_resolve_with_a_forged_detail_is_refused(world):
    """The challenger passes the original's detail as the copy's, to make the rule match."""
    original, other = _original_and_copy(world, copy_fp=NEAR_FP, copy_detail="far")
    world.registry(world.producer).challenge(original, other)
    world.registry(world.attacker).contest(original, other)
    base = details()["base"]
    fn = world.deployment.registry.functions.resolve(
        original,
        other,
        proof(world, original).as_tuple(),
        proof(world, other).as_tuple(),
        base,
        base,
    )
    with pytest.raises(errors.RegistryBadProof) as exc:
        world.tx(world.producer).send(fn)
    assert exc.value.tokenId == other
    assert world.registry(world.buyer).dispute(original, other).state is DisputeState.CONTESTED


def test_wrong_deposit_and_self_challenge_are_refused(world):
    original, copy = _original_and_copy(world)
    registry = world.registry(world.producer)
    deposit = world.params.challenge_deposit
    with pytest.raises(errors.RegistryWrongValue) as exc:
        registry.challenge(original, copy, deposit=deposit - 1)
    assert exc.value.sent == deposit - 1 and exc.value.required == deposit
    with pytest.raises(errors.RegistrySelfChallenge):
        registry.challenge(original, original)


def test_finalize_early_or_twice_and_settle_early_are_refused(world):
    original, copy = _original_and_copy(world)
    client = world.registry(world.producer)
    deadline = client.challenge(original, copy)
    with pytest.raises(errors.RegistryDisputeWindow) as exc:
        world.registry(world.buyer).finalize(original, copy)
    assert exc.value.deadline == deadline
    with pytest.raises(errors.RegistryDisputeState):  # nothing to settle yet
        client.settle(original, copy)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert client.finalize(original, copy) is True
    with pytest.raises(errors.RegistryDisputeState) as again:
        client.finalize(original, copy)
    assert again.value.state == DisputeState.UPHELD
    releasable = client.dispute(original, copy).deadline
    with pytest.raises(errors.RegistryRewardHeld) as held:
        client.settle(original, copy)
    assert held.value.releasableAtBlock == releasable


def test_a_challenge_by_a_token_revoked_meanwhile_is_rejected(world):
    """Z (earliest) revokes A while A's challenge of B is open: A's challenge is rejected at
    finalize and its deposit goes to B's owner."""
    register_esp(world)
    z = register_image(world, world.buyer, world.buyer.address, fp=BASE_FP)
    a = register_image(world, world.producer, world.producer.address, fp=NEAR_FP)
    b = register_image(
        world, world.attacker, world.attacker.address, fp=NEAR_FP, detail=details()["near"]
    )
    world.registry(world.producer).challenge(a, b)
    assert challenge_and_finalize(world, world.buyer, z, a)  # also closes A's window
    before = world.balance(world.attacker.address)
    assert world.registry(world.deployer).finalize(a, b) is False
    assert world.balance(world.attacker.address) == before + world.params.challenge_deposit
    assert world.registry(world.deployer).dispute(a, b).state is DisputeState.REJECTED
    assert world.registry(world.deployer).record(b).status is TokenStatus.ACTIVE


def test_a_second_challenge_of_a_revoked_copy_is_void_and_refunded(world):
    """Two earlier owners challenge the same copy; the first revokes it, the second gets its
    deposit back (no second reward, no loss)."""
    register_esp(world)
    z = register_image(world, world.buyer, world.buyer.address, fp=BASE_FP, esp=world.esp)
    a = register_image(world, world.producer, world.producer.address, fp=BASE_FP)
    copy = register_image(
        world, world.attacker, world.attacker.address, fp=NEAR_FP, detail=details()["near"]
    )
    second = world.registry(world.producer)
    before = world.balance(world.producer.address)
    second.challenge(a, copy)
    spent = gas_cost(second.last_receipt)
    assert challenge_and_finalize(world, world.buyer, z, copy)
    assert world.registry(world.deployer).finalize(a, copy) is False
    assert world.balance(world.producer.address) == before - spent
    assert second.dispute(a, copy).state is DisputeState.VOID
