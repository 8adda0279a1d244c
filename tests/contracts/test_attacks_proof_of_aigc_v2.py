"""The findings of issue 11 (Proof-of-AIGC v2), one attack each, run against the v2 Registry.

Each test's docstring names the finding. The attacker's exact loss or the exact custom error is
asserted; where the contract still lets the attack through, the test states the behaviour the
issue asks for and is marked ``xfail(strict=True)`` with the reason.

Every test runs on every chain backend (``world``).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from ledger import Asset, LockTerms, TokenStatus, errors
from ledger.clients.htlc import ZERO_ADDRESS
from ledger.clients.registry import DisputeState
from tests.conftest import World
from tests.contracts.attack_kit import (
    burn_address,
    gas_cost,
    register_image,
    send_reveal,
    settle_after_hold,
)
from tests.contracts.helpers import (
    BASE_FP,
    NEAR_FP,
    challenge_and_finalize,
    details,
    paid_lock,
    register_esp,
    registration,
)


def _producer_paid_first(world: World):
    """The ESP is registered; the producer pays for a generation and the ESP claims the fee (it
    now has the image, the producer not yet)."""
    register_esp(world)
    return paid_lock(world, world.producer, world.esp)


# --- a. an ESP can take its customer's image -------------------------------------------------


def test_esp_sybil_cannot_register_with_its_customers_lock(world):
    """Finding a, "An ESP can take its customer's image": the ESP's Sybil registers the
    producer's image with the ESP's attestation naming the producer's paid lock. The registrant
    is the lock's sender by construction: the Sybil's own commitment is unknown under the lock
    (RegistryUnknownCommit) and its bond is burned; a commitment in the producer's name mints
    to the producer."""
    lock = _producer_paid_first(world)
    content = b"the image the producer paid for"
    sybil = world.registry(world.attacker)
    reg = registration(world.attacker.address, world.esp.address, lock=lock, content=content)
    as_producer = replace(reg, owner=world.producer.address)
    before = world.balance(world.attacker.address)
    sybil.commit(reg)
    spent = gas_cost(sybil.last_receipt)
    with pytest.raises(errors.RegistryUnknownCommit) as exc:
        send_reveal(world, world.attacker, reg, lock, sybil.sign_attestation(world.esp, reg))
    assert exc.value.commitment == as_producer.commitment  # what the lock's sender would commit
    world.chain.mine(world.params.commit_ttl_blocks + 1)
    world.registry(world.buyer).forfeit_commit(reg.commitment)
    assert world.balance(world.attacker.address) == before - world.params.registration_bond - spent
    # Committing in the producer's name only registers the image to the producer.
    sybil.commit(as_producer)
    token = sybil.reveal(as_producer, lock, sybil.sign_attestation(world.esp, as_producer))
    assert sybil.owner_of(token) == world.producer.address


def test_esp_sybil_exact_copy_taken_first_is_reclaimed_by_the_producer(world):
    """Finding a, exact copy: the Sybil pays the ESP after the producer (later priority) and
    reveals the exact bytes before the producer can. The producer's reveal is refused as a
    duplicate, but ``reclaim`` (earlier lock, same ESP) moves the token to the producer, burns
    the Sybil's bond and reports the ESP that attested the bytes twice."""
    producer_lock = _producer_paid_first(world)
    content = b"the image the producer paid for"
    sybil_token = register_image(world, world.attacker, world.attacker.address, content=content)
    sybil_priority = world.registry(world.buyer).registered(sybil_token).priority_block
    _, producer_block = world.htlc(world.buyer).lock_info(producer_lock.id)
    assert sybil_priority > producer_block
    reg = registration(
        world.producer.address, world.esp.address, lock=producer_lock, content=content
    )
    client = world.registry(world.producer)
    client.commit(reg)
    attestation = client.sign_attestation(world.esp, reg)
    with pytest.raises(errors.RegistryDuplicateContent) as exc:
        client.reveal(reg, producer_lock, attestation)
    assert exc.value.tokenId == sybil_token
    burned = world.balance(burn_address(world))
    assert client.reclaim(reg, producer_lock, attestation) == sybil_token
    assert client.owner_of(sybil_token) == world.producer.address
    assert client.record(sybil_token).producer == world.producer.address
    assert world.balance(burn_address(world)) == burned + world.params.registration_bond
    assert world.balance(client.address) == world.params.registration_bond  # the producer's
    assert world.esps(world.buyer).challenges_lost(world.esp.address) == 1


def test_esp_sybil_near_copy_loses_to_the_producer_who_paid_first(world):
    """Finding a, near copy: the Sybil registers an edited copy first, with a fee of its own paid
    after the producer's. Its challenge of the producer is out of order; the producer's challenge
    revokes the Sybil's copy, whose bond is burned but for the producer's reward."""
    producer_lock = _producer_paid_first(world)
    sybil_token = register_image(
        world, world.attacker, world.attacker.address, fp=NEAR_FP, detail=details()["near"]
    )
    token = register_image(world, world.producer, world.producer.address, lock=producer_lock)
    sybil = world.registry(world.attacker)
    with pytest.raises(errors.RegistryChallengeOutOfOrder) as exc:
        sybil.challenge(sybil_token, token)
    assert (exc.value.original, exc.value.duplicate) == (sybil_token, token)
    assert challenge_and_finalize(world, world.producer, token, sybil_token) is True
    before, burned = world.balance(world.producer.address), world.balance(burn_address(world))
    settle_after_hold(world, token, sybil_token)
    reward, bond = world.params.challenge_reward, world.params.registration_bond
    assert world.balance(world.producer.address) == (
        before + world.params.challenge_deposit + reward
    )
    assert world.balance(burn_address(world)) == burned + bond - reward
    assert sybil.record(sybil_token).status is TokenStatus.REVOKED


# --- b. squatting with bond-free commits -----------------------------------------------------


def test_squatting_with_unrevealed_commits_costs_a_bond_each(world):
    """Finding b, "Squatting with bond-free commits": N candidates committed and none revealed
    cost N bonds, each burned by ``forfeitCommit`` (anyone may call it)."""
    register_esp(world)
    lock = paid_lock(world, world.attacker, world.esp)
    squatter = world.registry(world.attacker)
    n, bond = 5, world.params.registration_bond
    before = world.balance(world.attacker.address)
    spent = 0
    commitments = []
    for _ in range(n):
        reg = registration(world.attacker.address, world.esp.address, lock=lock)
        squatter.commit(reg)
        spent += gas_cost(squatter.last_receipt)
        commitments.append(reg.commitment)
    assert world.balance(squatter.address) == n * bond
    world.chain.mine(world.params.commit_ttl_blocks + 1)
    burned = world.balance(burn_address(world))
    for commitment in commitments:
        world.registry(world.buyer).forfeit_commit(commitment)
    assert world.balance(burn_address(world)) == burned + n * bond
    assert world.balance(squatter.address) == 0
    assert world.balance(world.attacker.address) == before - n * bond - spent


# --- c. commit-block priority ----------------------------------------------------------------


def test_an_early_commit_does_not_give_priority_a_later_lock_does_not_have(world):
    """Finding c, "Commit-block priority": the squatter commits before the producer even pays
    its ESP, then pays a fee of its own and reveals first. Its priority is its lock's block, after
    the producer's: it cannot challenge the producer, and loses its copy to the producer."""
    register_esp(world)
    squatter = world.registry(world.attacker)
    # The commitment names no lock yet (the task id is not committed to).
    placeholder = LockTerms(
        world.attacker.address, world.esp.address, Asset.ETHER, ZERO_ADDRESS, 1, bytes(32), 0
    )
    draft = registration(
        world.attacker.address,
        world.esp.address,
        lock=placeholder,
        fingerprint=NEAR_FP,
        detail=details()["near"],
    )
    squatter.commit(draft)
    committed = squatter.contract.functions.commitBlock(draft.commitment).call()
    producer_lock = paid_lock(world, world.producer, world.esp)
    squatter_lock = paid_lock(world, world.attacker, world.esp)
    reg = replace(draft, task_id=squatter_lock.id)
    squat = squatter.reveal(reg, squatter_lock, squatter.sign_attestation(world.esp, reg))
    token = register_image(world, world.producer, world.producer.address, lock=producer_lock)

    _, squatter_block = world.htlc(world.buyer).lock_info(squatter_lock.id)
    _, producer_block = world.htlc(world.buyer).lock_info(producer_lock.id)
    assert committed < producer_block < squatter_block
    assert squatter.registered(squat).priority_block == squatter_block
    with pytest.raises(errors.RegistryChallengeOutOfOrder):
        squatter.challenge(squat, token)
    assert challenge_and_finalize(world, world.producer, token, squat) is True


# --- d. backdating by an old lock ------------------------------------------------------------


def test_a_lock_older_than_the_registration_window_gives_no_priority(world):
    """Finding d, "Backdating by an old lock": a fee paid more than ``registrationWindow`` blocks
    before the commitment cannot back it: RegistryRegistrationTooLate, and the bond is lost."""
    register_esp(world)
    old = paid_lock(world, world.attacker, world.esp)
    _, locked_at = world.htlc(world.buyer).lock_info(old.id)
    window = world.params.registration_window_blocks
    world.chain.mine(window - 1)  # the ESP's claim took one block: the commit lands one late
    squatter = world.registry(world.attacker)
    reg = registration(world.attacker.address, world.esp.address, lock=old)
    squatter.commit(reg)
    assert squatter.contract.functions.commitBlock(reg.commitment).call() == locked_at + window + 1
    with pytest.raises(errors.RegistryRegistrationTooLate) as exc:
        squatter.reveal(reg, old, squatter.sign_attestation(world.esp, reg))
    assert exc.value.lockId == old.id and exc.value.lastCommitBlock == locked_at + window
    world.chain.mine(world.params.commit_ttl_blocks + 1)
    burned = world.balance(burn_address(world))
    squatter.forfeit_commit(reg.commitment)
    assert world.balance(burn_address(world)) == burned + world.params.registration_bond


# --- e. rewards won by a revoked token are kept ----------------------------------------------


def test_a_revoked_winner_s_revocation_is_reversed(world):
    """Finding e, "Rewards won by a revoked token are kept": A (a copy of the earlier Z) revokes
    B; Z's owner then revokes A. ``settle(A, B)`` reinstates B: Active again, B's bond back at
    stake, A's challenger gets nothing (its held deposit goes to B's owner), and B moves again."""
    register_esp(world)
    bond, deposit = world.params.registration_bond, world.params.challenge_deposit
    z = register_image(world, world.buyer, world.buyer.address, fp=BASE_FP)
    a = register_image(
        world, world.attacker, world.attacker.address, fp=NEAR_FP, detail=details()["near"]
    )
    b = register_image(world, world.producer, world.producer.address, fp=NEAR_FP)
    attacker_before = world.balance(world.attacker.address)
    winner = world.registry(world.attacker)
    winner.challenge(a, b)
    spent = gas_cost(winner.last_receipt)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert winner.finalize(a, b) is True
    spent += gas_cost(winner.last_receipt)
    assert challenge_and_finalize(world, world.buyer, z, a) is True
    victim_before = world.balance(world.producer.address)

    world.registry(world.deployer).settle(a, b)

    client = world.registry(world.deployer)
    assert client.record(b).status is TokenStatus.ACTIVE
    assert client.dispute(a, b).state is DisputeState.REVERSED
    assert world.balance(world.producer.address) == victim_before + deposit
    assert world.balance(world.attacker.address) == attacker_before - deposit - spent
    # Z's and B's bonds at stake, A's held for Z, Z's challenge deposit held.
    assert world.balance(client.address) == 3 * bond + deposit
    world.registry(world.producer).transfer(world.deployer.address, b)
    assert client.owner_of(b) == world.deployer.address
    settle_after_hold(world, z, a)
    assert world.balance(client.address) == 2 * bond  # Z's and B's, both at stake


# --- f. the copy's bond was released after 7,200 blocks --------------------------------------


def test_a_copys_bond_stays_at_stake_however_long_it_goes_unnoticed(world):
    """Finding f, "The copy's bond is released after 7,200 blocks": v2 has no bond release at
    all. A thousand blocks later (far beyond every window of the test deployment) the copy's
    bond is still held by the Registry, no function gives it back to an active token's owner,
    and the copy is still challenged and revoked (its bond burned but the reward)."""
    register_esp(world)
    original = register_image(world, world.producer, world.producer.address)
    copy = register_image(
        world, world.attacker, world.attacker.address, fp=NEAR_FP, detail=details()["near"]
    )
    bond, reward = world.params.registration_bond, world.params.challenge_reward
    world.chain.mine(1_000)
    registry = world.deployment.registry
    assert world.balance(registry.address) == 2 * bond
    names = {f["name"] for f in registry.abi if f.get("type") == "function"}
    assert not names & {"releaseBond", "withdrawBond", "claimBond"}
    # Nothing the copy's owner can call pays it: every payable path needs a dispute or commit.
    assert challenge_and_finalize(world, world.producer, original, copy) is True
    burned = world.balance(burn_address(world))
    settle_after_hold(world, original, copy)
    assert world.balance(burn_address(world)) == burned + bond - reward
    assert world.balance(registry.address) == bond
    assert world.registry(world.buyer).record(copy).status is TokenStatus.REVOKED


# --- g. a revoked copy's bond paid the challenger as profit ----------------------------------


def test_squatting_on_false_matches_pays_at_most_the_reward_and_loses_deposits(world):
    """Finding g, "A revoked copy's bond paid the challenger as profit": a squatter's early
    image falsely matches (compact rule) two unrelated later images (details 'far'). The victim
    who does not contest loses its token, but the squatter gets only ``challengeReward`` and the
    rest of the bond is burned; the victim who contests wins the squatter's deposit. Net: the
    squatter ends ``reward - deposit`` (< 0) minus gas."""
    register_esp(world)
    p = world.params
    bond, deposit, reward = p.registration_bond, p.challenge_deposit, p.challenge_reward
    assert reward <= bond and reward < deposit
    squat = register_image(world, world.attacker, world.attacker.address)
    silent = register_image(
        world, world.producer, world.producer.address, fp=NEAR_FP, detail=details()["far"]
    )
    alert = register_image(
        world, world.buyer, world.buyer.address, fp=NEAR_FP, detail=details()["far"]
    )
    squatter = world.registry(world.attacker)
    before = world.balance(world.attacker.address)
    alert_before = world.balance(world.buyer.address)
    burned = world.balance(burn_address(world))
    spent = 0
    for victim in (silent, alert):
        squatter.challenge(squat, victim)
        spent += gas_cost(squatter.last_receipt)
    defender = world.registry(world.buyer)
    defender.contest(squat, alert)
    alert_spent = gas_cost(defender.last_receipt)
    assert world.registry(world.deployer).resolve(squat, alert) is False  # the detail rule
    world.chain.mine(p.dispute_window_blocks + 1)
    assert world.registry(world.deployer).finalize(squat, silent) is True
    settle_after_hold(world, squat, silent)

    assert world.balance(world.attacker.address) == before + reward - deposit - spent
    assert world.balance(world.buyer.address) == alert_before + deposit - alert_spent
    assert world.balance(burn_address(world)) == burned + bond - reward
    assert squatter.record(alert).status is TokenStatus.ACTIVE


# --- h. self-challenge via a colluding pair --------------------------------------------------


def test_a_colluding_pair_cannot_profit_from_a_self_challenge(world):
    """Finding h, "Self-challenge via a colluding pair": a challenge of a token whose compact
    fingerprint is near but whose detail is far is rejected when contested (the accused ends
    +1 deposit, the challenger -1); left uncontested, the pair together loses the bond but the
    reward, burned."""
    register_esp(world)
    p = world.params
    bond, deposit, reward = p.registration_bond, p.challenge_deposit, p.challenge_reward
    mine = register_image(world, world.attacker, world.attacker.address)
    partner = register_image(
        world, world.buyer, world.buyer.address, fp=NEAR_FP, detail=details()["far"]
    )
    challenger, accused = world.registry(world.attacker), world.registry(world.buyer)
    c_before, a_before = world.balance(world.attacker.address), world.balance(world.buyer.address)
    challenger.challenge(mine, partner)
    c_spent = gas_cost(challenger.last_receipt)
    accused.contest(mine, partner)
    a_spent = gas_cost(accused.last_receipt)
    assert world.registry(world.deployer).resolve(mine, partner) is False
    assert world.balance(world.attacker.address) == c_before - deposit - c_spent
    assert world.balance(world.buyer.address) == a_before + deposit - a_spent
    assert accused.dispute(mine, partner).state is DisputeState.REJECTED
    # Uncontested, with a second Sybil image: the pair's bond is burned but the reward.
    pair_before = world.balance(world.attacker.address) + world.balance(world.buyer.address)
    burned = world.balance(burn_address(world))
    other = register_image(
        world, world.buyer, world.buyer.address, fp=NEAR_FP, detail=details()["far"]
    )
    assert challenge_and_finalize(world, world.attacker, mine, other) is True
    settle_after_hold(world, mine, other)
    pair_after = world.balance(world.attacker.address) + world.balance(world.buyer.address)
    assert pair_after < pair_before - bond + reward  # and the fee and gas on top
    assert world.balance(burn_address(world)) == burned + bond - reward
    assert world.balance(world.deployment.registry.address) == 2 * bond  # mine + partner


# --- found while porting: backdating by a prepaid lock within the window ---------------------


def _prepaid_copy(world: World, esp) -> tuple[int, int]:
    """The attacker pays a fee to ``esp`` first; the producer's image is registered after that
    lock; the attacker copies its fingerprint and detail from the ``Registered`` event (no image
    bytes needed) and registers them under the prepaid lock. Returns (copy, victim)."""
    prepaid = paid_lock(world, world.attacker, esp)
    victim = register_image(world, world.producer, world.producer.address)
    published = world.registry(world.deployer).registered(victim)
    copy = register_image(
        world,
        world.attacker,
        world.attacker.address,
        fp=published.fingerprint,
        detail=published.detail,
        esp=esp,
        lock=prepaid,
    )
    assert world.registry(world.deployer).registered(copy).priority_block < (
        published.priority_block
    )
    return copy, victim


def test_a_lock_prepaid_to_a_sybil_esp_cannot_backdate_a_published_image(world):
    """Found while porting: a fee paid to the attacker's own Sybil ESP before the victim's lock
    would give a copy of the victim's published image the earlier priority. Across ESPs a lock
    counts only for content committed before the other image was revealed:
    RegistryCommittedAfterPublication, no deposit taken."""
    register_esp(world)
    register_esp(world, world.buyer)  # the attacker's Sybil ESP
    copy, victim = _prepaid_copy(world, world.buyer)
    attacker = world.registry(world.attacker)
    a, b = attacker.registered(copy).proof, attacker.registered(victim).proof
    with pytest.raises(errors.RegistryCommittedAfterPublication) as exc:
        attacker.challenge(copy, victim)
    assert (exc.value.original, exc.value.committedAt, exc.value.duplicateRevealedAt) == (
        copy,
        a.commit_block,
        b.reveal_block,
    )
    assert attacker.dispute(copy, victim).state is DisputeState.NONE


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason=(
        "contract gap: the publication check is skipped when one ESP attested both images, but "
        "the ESP's Sybil can hold a lock to that ESP paid before the customer's; the ESP attests "
        "the customer's image (or its fingerprint and detail) to the Sybil under it, the earlier "
        "priority wins the contested challenge and the customer is revoked (finding a with the "
        "Sybil's lock paid first)"
    ),
)
def test_an_esps_sybil_with_a_lock_prepaid_to_the_same_esp_cannot_revoke_its_customer(world):
    """Finding a, variant found while porting: the ESP's Sybil paid the ESP before the producer
    did. The producer's image should survive its contest; today it is revoked."""
    register_esp(world)
    copy, victim = _prepaid_copy(world, world.esp)
    world.registry(world.attacker).challenge(copy, victim)
    world.registry(world.producer).contest(copy, victim)
    upheld = world.registry(world.deployer).resolve(copy, victim)
    assert not upheld
    assert world.registry(world.deployer).record(victim).status is TokenStatus.ACTIVE
