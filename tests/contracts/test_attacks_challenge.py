"""Challenge abuse (by later registrants, non-owners, with wrong deposits, against oneself, beyond
the threshold, on revoked tokens, pulling the bond early), each shown failing.

Every test runs on every chain backend (``world``): the guard holds with the exact custom
error, or balances and ownership come out exact.
"""

from __future__ import annotations

import pytest

from ledger import (
    TokenStatus,
    errors,
    new_secret,
)
from tests.conftest import World
from tests.contracts.attack_kit import (
    HOUR,
    gas_cost,
    register_image,
)
from tests.contracts.helpers import (
    BASE_FP,
    FAR_FP,
    NEAR_FP,
    register_esp,
)

# --- challenge abuse -------------------------------------------------------------------------


def _original_and_copy(world: World, copy_fp: bytes = NEAR_FP) -> tuple[int, int]:
    """The producer's image, then the attacker's later registration with ``copy_fp``."""
    register_esp(world)
    original = register_image(world, world.producer, world.producer.address, fp=BASE_FP)
    copy = register_image(world, world.attacker, world.attacker.address, fp=copy_fp)
    return original, copy


def test_later_registrant_cannot_challenge_an_earlier_one(world):
    original, copy = _original_and_copy(world)
    with pytest.raises(errors.RegistryChallengeOutOfOrder) as exc:
        world.registry(world.attacker).challenge(copy, original)
    assert exc.value.original == copy and exc.value.duplicate == original
    assert world.registry(world.producer).challenge(original, copy) is True  # the real owner wins
    assert world.registry(world.buyer).record(copy).status is TokenStatus.REVOKED


def test_challenge_by_a_non_owner_is_refused(world):
    original, copy = _original_and_copy(world)
    with pytest.raises(errors.RegistryNotOwner) as exc:
        world.registry(world.buyer).challenge(original, copy)
    assert exc.value.tokenId == original and exc.value.caller == world.buyer.address.lower()
    # The right to challenge follows the token: once sold, the seller has lost it.
    world.registry(world.producer).transfer(world.buyer.address, original)
    with pytest.raises(errors.RegistryNotOwner):
        world.registry(world.producer).challenge(original, copy)
    assert world.registry(world.buyer).challenge(original, copy) is True


def test_upheld_challenge_pays_back_the_deposit_plus_the_copys_bond(world):
    original, copy = _original_and_copy(world)
    bond = world.params.registration_bond
    before = world.balance(world.producer.address)
    challenger = world.registry(world.producer)
    assert challenger.challenge(original, copy) is True
    assert world.balance(world.producer.address) == before + bond - gas_cost(
        challenger.last_receipt
    )
    assert world.balance(world.deployment.registry.address) == bond  # only the original's
    assert world.esps(world.buyer).challenges_lost(world.esp.address) == 1
    record = challenger.record(copy)
    assert record.status is TokenStatus.REVOKED and not record.bond_held


def test_revoked_token_cannot_move_be_listed_or_challenge(world):
    original, copy = _original_and_copy(world)
    later = register_image(world, world.buyer, world.buyer.address, fp=NEAR_FP)
    world.registry(world.producer).challenge(original, copy)
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
    with pytest.raises(errors.RegistryTokenRevoked):  # no second reward for the same copy
        world.registry(world.producer).challenge(original, copy)
    with pytest.raises(errors.RegistryTokenRevoked):
        thief.release_bond(copy)
    assert thief.owner_of(copy) == world.attacker.address


def test_token_revoked_while_escrowed_still_leaves_the_escrow(world):
    original, copy = _original_and_copy(world)
    htlc = world.deployment.htlc
    world.registry(world.attacker).approve(htlc.address, copy)
    _, hashlock = new_secret()
    lock = world.htlc(world.attacker).lock_erc721(
        world.deployment.registry.address,
        world.buyer.address,
        token_id=copy,
        hashlock=hashlock,
        timelock=world.chain.timestamp() + 120,
    )
    world.registry(world.producer).challenge(original, copy)
    world.chain.increase_time(121)
    world.htlc(world.attacker).refund(lock)  # never stuck in the escrow...
    assert world.registry(world.buyer).owner_of(copy) == world.attacker.address
    with pytest.raises(errors.RegistryTokenRevoked):  # ...but frozen once out
        world.registry(world.attacker).transfer(world.buyer.address, copy)


@pytest.mark.parametrize("escrowed", [False, True])
def test_challenge_beyond_the_threshold_forfeits_the_deposit(world, escrowed):
    original, other = _original_and_copy(world, copy_fp=FAR_FP)
    registry = world.registry(world.producer)
    threshold = registry.params()["match_threshold"]
    assert registry.fingerprint_distance(BASE_FP, FAR_FP) > threshold
    if escrowed:  # the other image is listed: the escrow takes no Ether, its producer does
        world.registry(world.attacker).approve(world.deployment.htlc.address, other)
        _, hashlock = new_secret()
        world.htlc(world.attacker).lock_erc721(
            registry.address,
            world.buyer.address,
            token_id=other,
            hashlock=hashlock,
            timelock=world.chain.timestamp() + HOUR,
        )
    deposit, bond = world.params.challenge_deposit, world.params.registration_bond
    challenger_before = world.balance(world.producer.address)
    owner_before = world.balance(world.attacker.address)

    assert registry.challenge(original, other) is False

    assert world.balance(world.producer.address) == (
        challenger_before - deposit - gas_cost(registry.last_receipt)
    )
    assert world.balance(world.attacker.address) == owner_before + deposit
    assert world.balance(world.deployment.htlc.address) == 0
    assert world.balance(registry.address) == 2 * bond
    assert registry.record(other).status is TokenStatus.ACTIVE


def test_wrong_deposit_and_self_challenge_are_refused(world):
    original, copy = _original_and_copy(world)
    registry = world.registry(world.producer)
    deposit = world.params.challenge_deposit
    with pytest.raises(errors.RegistryWrongValue) as exc:
        registry.challenge(original, copy, deposit=deposit - 1)
    assert exc.value.sent == deposit - 1 and exc.value.required == deposit
    with pytest.raises(errors.RegistrySelfChallenge):
        registry.challenge(original, original)


def test_plagiarist_cannot_pull_the_bond_before_the_lock_ends(world):
    _, copy = _original_and_copy(world)
    thief = world.registry(world.attacker)
    registered = thief.record(copy).registered_block
    with pytest.raises(errors.RegistryBondLocked) as exc:
        thief.release_bond(copy)
    assert exc.value.releasableAtBlock == registered + world.params.bond_lock_blocks
    assert thief.record(copy).bond_held
