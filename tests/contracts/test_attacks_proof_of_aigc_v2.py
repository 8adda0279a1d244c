"""The findings of issue 11 (Proof-of-AIGC v2), one attack each, run against the v2 Registry.

Each test's docstring names the finding. The attacker's exact loss or the exact custom error is
asserted; where the contract still lets the attack through, the test states the behaviour the
issue asks for and is marked ``xfail(strict=True)`` with the reason.

Every test runs on the backend of ``world``.
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
    ESP_STAKE,
    FEE,
    NEAR_FP,
    challenge_and_finalize,
    details,
    paid_lock,
    past_reclaim,
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
    the Sybil's bond and reports the ESP that attested the bytes twice (its slash goes to the
    holder it dispossesses: here its own Sybil, so the attack still costs it the Sybil's bond)."""
    producer_lock = _producer_paid_first(world)
    content = b"the image the producer paid for"
    sybil_token = register_image(
        world, world.attacker, world.attacker.address, content=content, esp=world.esp
    )
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


def test_esp_sybil_near_copy_cannot_revoke_the_producer_and_costs_the_esp(world):
    """Finding a, near copy: the Sybil registers an edited copy first, with a fee of its own paid
    to the same ESP after the producer's. Its challenge of the producer is out of order. One
    ESP attested both, so the producer's own challenge cannot revoke by priority either (the ESP
    could as well have prepaid the Sybil's lock): the producer asks for the detail rule, which
    matches, and the ESP's slash is burned (paid to an owner it would be a bounty to farm, see
    ``test_two_sybils_cannot_farm_an_honest_esps_equivocation_slash``); nothing is revoked."""
    producer_lock = _producer_paid_first(world)
    sybil_token = register_image(
        world,
        world.attacker,
        world.attacker.address,
        fp=NEAR_FP,
        detail=details()["near"],
        esp=world.esp,
    )
    token = register_image(world, world.producer, world.producer.address, lock=producer_lock)
    sybil = world.registry(world.attacker)
    with pytest.raises(errors.RegistryChallengeOutOfOrder) as exc:
        sybil.challenge(sybil_token, token)
    assert (exc.value.original, exc.value.duplicate) == (sybil_token, token)
    producer = world.registry(world.producer)
    before = world.balance(world.producer.address)
    producer.challenge(token, sybil_token)
    spent = gas_cost(producer.last_receipt)
    producer.contest(token, sybil_token)  # the challenger of an equivocation may ask for it
    spent += gas_cost(producer.last_receipt)
    assert world.registry(world.deployer).resolve(token, sybil_token) is False
    assert producer.dispute(token, sybil_token).state is DisputeState.EQUIVOCATED
    assert world.balance(world.producer.address) == before - spent  # both deposits back
    slash = world.params.esp_slash_amount
    esps = world.esps(world.buyer)
    assert esps.compensation_of(world.producer.address) == 0
    assert esps.compensation_of(world.attacker.address) == 0
    assert esps.compensation_of(burn_address(world)) == slash
    assert esps.esp_info(world.esp.address).stake == ESP_STAKE - slash
    assert sybil.record(sybil_token).status is TokenStatus.ACTIVE


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
    the producer's: it cannot challenge the producer. (One ESP attested both, so the producer's
    challenge is an equivocation: left uncontested it decides nothing.)"""
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
    assert challenge_and_finalize(world, world.producer, token, squat) is False
    assert squatter.record(token).status is TokenStatus.ACTIVE


# --- d. backdating by an old lock ------------------------------------------------------------


def test_a_lock_older_than_the_registration_window_gives_no_priority(world):
    """Finding d, "Backdating by an old lock": a fee paid more than ``registrationWindow`` blocks
    before the commitment gives no priority: the registration's priority is its own commit
    block (before issue 11 v2 it reverted RegistryRegistrationTooLate and the bond was lost; a
    late delivery then stranded the customer's image)."""
    register_esp(world)
    old = paid_lock(world, world.attacker, world.esp)
    _, locked_at = world.htlc(world.buyer).lock_info(old.id)
    window = world.params.registration_window_blocks
    world.chain.mine(window - 1)  # the ESP's claim took one block: the commit lands one late
    squatter = world.registry(world.attacker)
    reg = registration(world.attacker.address, world.esp.address, lock=old)
    squatter.commit(reg)
    assert squatter.contract.functions.commitBlock(reg.commitment).call() == locked_at + window + 1
    token = squatter.reveal(reg, old, squatter.sign_attestation(world.esp, reg))
    assert squatter.registered(token).priority_block == locked_at + window + 1


# --- e. rewards won by a revoked token are kept ----------------------------------------------


def test_a_revoked_winner_s_revocation_is_reversed(world):
    """Finding e, "Rewards won by a revoked token are kept": A (a copy of the earlier Z) revokes
    B; Z's owner then revokes A. ``settle(A, B)`` reinstates B: Active again, B's bond back at
    stake, A's challenger gets nothing (its held deposit goes to B's owner), and B moves again."""
    register_esp(world)
    bond, deposit = world.params.registration_bond, world.params.challenge_deposit
    z = register_image(world, world.buyer, world.buyer.address, fp=BASE_FP, esp=world.esp)
    a = register_image(
        world, world.attacker, world.attacker.address, fp=NEAR_FP, detail=details()["near"]
    )
    b = register_image(world, world.producer, world.producer.address, fp=NEAR_FP)
    past_reclaim(world)  # B moves below: a fresh token does not (RegistryTokenReclaimable)
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
        world, world.buyer, world.buyer.address, fp=NEAR_FP, detail=details()["far"], esp=world.esp
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
    counts only for content committed before the other image's fee was locked and committed:
    RegistryCommittedAfterPublication, no deposit taken."""
    register_esp(world)
    register_esp(world, world.buyer)  # the attacker's Sybil ESP
    copy, victim = _prepaid_copy(world, world.buyer)
    attacker = world.registry(world.attacker)
    a, b = attacker.registered(copy).proof, attacker.registered(victim).proof
    with pytest.raises(errors.RegistryCommittedAfterPublication) as exc:
        attacker.challenge(copy, victim)
    assert (exc.value.original, exc.value.committedAt, exc.value.duplicateCommittedAt) == (
        copy,
        a.commit_block,
        min(b.priority_block, b.commit_block),  # the victim's fee lock, here
    )
    assert attacker.dispute(copy, victim).state is DisputeState.NONE


@pytest.mark.xfail(
    strict=True,
    raises=errors.RegistryChallengeOutOfOrder,
    reason="open (issue 12): a copy committed after its victim was published, under a fee "
    "prepaid to the copier's own ESP, is irrevocable by its victim (older lock). Ordering such "
    "a copy after the published image would close it, but the chain cannot tell it from a "
    "producer whose own ESP handed its image to a copier before delivering it (the producer "
    "would then lose its token instead of a stalemate): a policy choice, see docs/contracts.md",
)
def test_a_copy_backdated_by_a_lock_prepaid_to_a_sybil_esp_is_revoked_by_its_victim(world):
    """Issue 12, the other side of the rule above: the backdated copy cannot revoke its victim,
    but the victim cannot revoke the copy either (the copy's lock is older), so a fee prepaid
    to one's own ESP, within the registration window, makes a copy of any image published
    after it irrevocable (both tokens stay active). The behaviour asked for: the victim's
    challenge revokes the copy."""
    register_esp(world)
    register_esp(world, world.buyer)  # the attacker's Sybil ESP
    copy, victim = _prepaid_copy(world, world.buyer)
    assert challenge_and_finalize(world, world.producer, victim, copy) is True
    assert world.registry(world.buyer).record(copy).status is TokenStatus.REVOKED


def test_a_reclaim_voids_a_victims_challenge_once_at_the_price_of_a_bond(world):
    """Issue 12, reclaim epochs: the victim challenges a copy T that the attacker's Sybil S2
    registered with a fee paid to the attacker's Sybil ESP after the victim's lock. Another
    Sybil holding a fee prepaid to the same ESP before the victim's lock reclaims T (same ESP:
    no publication check on the reclaim), which voids the challenge and gives T the older
    priority. Each reclaim needs a strictly older lock (S2 cannot take T back: no
    back-and-forth, so the reclaim counter cannot be run up between two Sybils) and burns a
    bond. What it buys is the stalemate of the prepaid-lock backdating above (the open
    xfail): the victim's second challenge is out of order."""
    register_esp(world)
    sybil_esp, s2 = world.buyer, world.accounts[5]
    register_esp(world, sybil_esp)
    prepaid = paid_lock(world, world.attacker, sybil_esp)
    victim = register_image(world, world.producer, world.producer.address)
    published = world.registry(world.deployer).registered(victim)
    content = b"the attacker's copy of the victim's image"
    s2_lock = paid_lock(world, s2, sybil_esp)
    copy = register_image(
        world,
        s2,
        s2.address,
        fp=published.fingerprint,
        detail=published.detail,
        content=content,
        lock=s2_lock,
    )
    producer = world.registry(world.producer)
    producer.challenge(victim, copy)
    burned = world.balance(burn_address(world))
    reg = registration(
        world.attacker.address,
        sybil_esp.address,
        lock=prepaid,
        fingerprint=published.fingerprint,
        detail=published.detail,
        content=content,
    )
    attacker = world.registry(world.attacker)
    attacker.commit(reg)
    assert attacker.reclaim(reg, prepaid, attacker.sign_attestation(sybil_esp, reg)) == copy
    assert world.balance(burn_address(world)) == burned + world.params.registration_bond
    back = replace(reg, owner=s2.address, task_id=s2_lock.id)
    s2_client = world.registry(s2)
    s2_client.commit(back)
    with pytest.raises(errors.RegistryChallengeOutOfOrder):  # no back-and-forth
        s2_client.reclaim(back, s2_lock, s2_client.sign_attestation(sybil_esp, back))
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert world.registry(world.deployer).finalize(victim, copy) is False
    assert producer.dispute(victim, copy).state is DisputeState.VOID
    assert producer.record(copy).status is TokenStatus.ACTIVE
    with pytest.raises(errors.RegistryChallengeOutOfOrder):  # the open limit, as above
        producer.challenge(victim, copy)


def test_an_esps_sybil_with_a_lock_prepaid_to_the_same_esp_cannot_revoke_its_customer(world):
    """Finding a, variant found while porting: the ESP's Sybil paid the ESP before the producer
    did and registers a copy of the producer's image under that older lock. One ESP attested
    both images, so priority cannot decide (the ESP chose whose lock is older): when the detail
    rule matches them the dispute ends Equivocated, nothing is revoked, both deposits go back
    and the ESP's slash is burned. The ESP loses the slash plus its Sybil's fee, bond lock-up
    and gas; the producer keeps its image and loses only gas."""
    register_esp(world)
    copy, victim = _prepaid_copy(world, world.esp)
    sybil, producer = world.registry(world.attacker), world.registry(world.producer)
    slash = world.params.esp_slash_amount
    s_before, p_before = (
        world.balance(world.attacker.address),
        world.balance(world.producer.address),
    )
    sybil.challenge(copy, victim)
    s_spent = gas_cost(sybil.last_receipt)
    assert sybil.dispute(copy, victim).equivocal
    producer.contest(copy, victim)
    p_spent = gas_cost(producer.last_receipt)
    upheld = world.registry(world.deployer).resolve(copy, victim)
    assert not upheld
    assert producer.record(victim).status is TokenStatus.ACTIVE
    assert producer.dispute(copy, victim).state is DisputeState.EQUIVOCATED
    assert world.balance(world.attacker.address) == s_before - s_spent  # the deposit came back
    assert world.balance(world.producer.address) == p_before - p_spent
    esps = world.esps(world.buyer)
    assert esps.compensation_of(world.producer.address) == 0
    assert esps.compensation_of(world.attacker.address) == 0
    assert esps.compensation_of(burn_address(world)) == slash
    assert esps.esp_info(world.esp.address).stake == ESP_STAKE - slash
    assert esps.challenges_lost(world.esp.address) == 1


def test_an_uncontested_challenge_between_images_of_one_esp_decides_nothing(world):
    """Same attack, the producer does not answer: the detail rule never ran, so the window's end
    revokes nothing (Void), the Sybil's deposit comes back and nobody is slashed."""
    register_esp(world)
    copy, victim = _prepaid_copy(world, world.esp)
    assert challenge_and_finalize(world, world.attacker, copy, victim) is False
    client = world.registry(world.buyer)
    assert client.record(victim).status is TokenStatus.ACTIVE
    assert client.dispute(copy, victim).state is DisputeState.VOID
    assert world.esps(world.buyer).challenges_lost(world.esp.address) == 0


def test_one_esps_distinct_images_are_not_an_equivocation(world):
    """Who pays when it misfires: one ESP made two images for two customers that the compact
    rule admits (same layout) but the detail rule tells apart. The accused contests and takes
    both deposits, the ESP is not slashed: an honest ESP pays only when the detail rule (the
    revoking rule, <= 1e-7 per pair) says it attested one image twice."""
    register_esp(world)
    first = register_image(world, world.producer, world.producer.address)
    second = register_image(
        world, world.buyer, world.buyer.address, fp=NEAR_FP, detail=details()["far"]
    )
    world.registry(world.producer).challenge(first, second)
    accused = world.registry(world.buyer)
    before = world.balance(world.buyer.address)
    accused.contest(first, second)
    spent = gas_cost(accused.last_receipt)
    assert world.registry(world.deployer).resolve(first, second) is False
    assert accused.dispute(first, second).state is DisputeState.REJECTED
    assert world.balance(world.buyer.address) == before + world.params.challenge_deposit - spent
    assert world.esps(world.buyer).challenges_lost(world.esp.address) == 0


def test_a_plagiarist_cannot_farm_its_victims_honest_esp(world):
    """Issue 12, farming an equivocation: provenance is public, so a plagiarist pays the
    producer's honest ESP for a generation with the producer's seed and a synonym prompt (same
    seed, same layout: a near copy the detail rule matches) and registers it. The producer
    challenges the copy, the plagiarist contests. Had the slash been split it would take half
    (0.025 ETH), 25 times the fee; burned, it takes nothing and loses its fee and gas (its bond
    stays locked with its token)."""
    register_esp(world)
    token = register_image(world, world.producer, world.producer.address)
    before = world.balance(world.attacker.address)
    copy = register_image(
        world,
        world.attacker,
        world.attacker.address,
        fp=NEAR_FP,
        detail=details()["near"],
        esp=world.esp,
    )
    world.registry(world.producer).challenge(token, copy)
    plagiarist = world.registry(world.attacker)
    plagiarist.contest(token, copy)
    assert world.registry(world.deployer).resolve(token, copy) is False
    assert plagiarist.dispute(token, copy).state is DisputeState.EQUIVOCATED
    esps = world.esps(world.buyer)
    assert esps.compensation_of(world.attacker.address) == 0
    assert esps.compensation_of(world.producer.address) == 0
    assert esps.compensation_of(burn_address(world)) == world.params.esp_slash_amount
    bond, fee = world.params.registration_bond, FEE
    assert world.balance(world.attacker.address) < before - fee - bond  # and its gas


def test_two_sybils_cannot_farm_an_honest_esps_equivocation_slash(world):
    """Issue 12, farming without a victim: one attacker's two accounts each pay an honest ESP
    for the same seed and near-synonym prompts, register both near copies, and the earlier one
    challenges the later and contests itself. Split between the owners, or paid to the earlier
    payer, the 0.05 ETH slash would return 25 times the two 0.001 ETH fees; burned, the pair
    gets nothing back and loses both fees and its gas. (The ESP still loses the slash: an honest
    ESP avoids it by not attesting a near copy of an image it already attested.)"""
    register_esp(world)
    first_acct, second_acct = world.attacker, world.buyer
    before = world.balance(first_acct.address) + world.balance(second_acct.address)
    first = register_image(world, first_acct, first_acct.address, esp=world.esp)
    second = register_image(
        world,
        second_acct,
        second_acct.address,
        fp=NEAR_FP,
        detail=details()["near"],
        esp=world.esp,
    )
    client = world.registry(first_acct)
    client.challenge(first, second)
    client.contest(first, second)
    assert world.registry(world.deployer).resolve(first, second) is False
    assert client.dispute(first, second).state is DisputeState.EQUIVOCATED
    esps = world.esps(world.deployer)
    assert esps.compensation_of(first_acct.address) == 0
    assert esps.compensation_of(second_acct.address) == 0
    with pytest.raises(errors.NoCompensation):
        world.esps(first_acct).claim_compensation()
    after = world.balance(first_acct.address) + world.balance(second_acct.address)
    assert after < before - 2 * (FEE + world.params.registration_bond)  # and the gas


def test_two_sybils_cannot_farm_an_honest_esps_reclaim_slash(world):
    """Issue 12, farming ``reclaim``: the bundled model's output is fixed by prompt, seed and
    model, so two Sybils paying an honest ESP for the same request receive the same bytes. The
    later payer registers them first, the earlier reclaims the token; the ESP attested one image
    to two payers and was slashed to the holder dispossessed, the later Sybil (owed 0.05 ETH for
    0.012 ETH of bond and fees). Every challenge slash is now burned (EspRegistry
    ``recordChallengeUpheld``): the pair gains nothing."""
    register_esp(world)
    early, late = world.attacker, world.accounts[5]
    early_lock = paid_lock(world, early, world.esp)
    content = b"the same request, the same bytes"
    register_image(world, late, late.address, content=content, esp=world.esp)
    reg = registration(early.address, world.esp.address, lock=early_lock, content=content)
    client = world.registry(early)
    client.commit(reg)
    client.reclaim(reg, early_lock, client.sign_attestation(world.esp, reg))
    esps = world.esps(world.deployer)
    gained = esps.compensation_of(late.address) + esps.compensation_of(early.address)
    assert gained < world.params.registration_bond + 2 * FEE


def test_only_the_two_owners_may_contest_an_equivocation(world):
    """The challenger of an equivocal dispute may ask for the detail rule itself (nothing can be
    revoked); a third party may not."""
    register_esp(world)
    copy, victim = _prepaid_copy(world, world.esp)
    world.registry(world.attacker).challenge(copy, victim)
    with pytest.raises(errors.RegistryNotOwner) as exc:
        world.registry(world.buyer).contest(copy, victim)
    assert (exc.value.tokenId, exc.value.caller) == (victim, world.buyer.address.lower())
    world.registry(world.attacker).contest(copy, victim)
    assert world.registry(world.buyer).dispute(copy, victim).state is DisputeState.CONTESTED


# --- a challenge carried over a reclaim (found while closing the gaps) -----------------------


def test_a_challenge_opened_before_a_reclaim_cannot_revoke_the_reclaimed_token(world):
    """An attacker's token A (priority between the producer's lock and a Sybil's) challenges the
    Sybil's exact copy T of the producer's image; the producer then reclaims T with its earlier
    lock. Disputes are keyed by token ids, so without a re-check the window's end would revoke
    the producer's token, which now has the earlier priority. The dispute remembers both tokens'
    reclaim counts: ``finalize`` finds T reclaimed since and ends it Void (nothing revoked, the
    deposit back), and the attacker cannot challenge again out of order."""
    producer_lock = _producer_paid_first(world)
    content = b"the image the producer paid for"
    attacker_token = register_image(world, world.attacker, world.attacker.address)
    taken = register_image(
        world,
        world.buyer,
        world.buyer.address,
        fp=NEAR_FP,
        detail=details()["near"],
        content=content,
        esp=world.esp,
    )
    attacker = world.registry(world.attacker)
    attacker.challenge(attacker_token, taken)
    assert attacker.dispute(attacker_token, taken).epochs == (0, 0)
    reg = registration(
        world.producer.address, world.esp.address, lock=producer_lock, content=content
    )
    producer = world.registry(world.producer)
    producer.commit(reg)
    assert producer.reclaim(reg, producer_lock, producer.sign_attestation(world.esp, reg)) == taken
    before = world.balance(world.attacker.address)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert world.registry(world.deployer).finalize(attacker_token, taken) is False
    assert producer.dispute(attacker_token, taken).state is DisputeState.VOID
    assert producer.record(taken).status is TokenStatus.ACTIVE
    assert producer.owner_of(taken) == world.producer.address
    assert world.balance(world.attacker.address) == before + world.params.challenge_deposit
    with pytest.raises(errors.RegistryChallengeOutOfOrder):  # T's priority is now the earlier
        attacker.challenge(attacker_token, taken)


def test_a_contested_challenge_of_a_token_reclaimed_since_is_void(world):
    """The same attack, contested: ``resolve`` also re-checks the reclaim counts, returns both
    deposits and revokes nothing."""
    producer_lock = _producer_paid_first(world)
    content = b"the image the producer paid for"
    attacker_token = register_image(world, world.attacker, world.attacker.address)
    taken = register_image(
        world,
        world.buyer,
        world.buyer.address,
        fp=NEAR_FP,
        detail=details()["near"],
        content=content,
        esp=world.esp,
    )
    world.registry(world.attacker).challenge(attacker_token, taken)
    world.registry(world.buyer).contest(attacker_token, taken)
    reg = registration(
        world.producer.address, world.esp.address, lock=producer_lock, content=content
    )
    producer = world.registry(world.producer)
    producer.commit(reg)
    producer.reclaim(reg, producer_lock, producer.sign_attestation(world.esp, reg))
    assert world.registry(world.deployer).resolve(attacker_token, taken) is False
    assert producer.dispute(attacker_token, taken).state is DisputeState.VOID
    assert producer.record(taken).status is TokenStatus.ACTIVE
