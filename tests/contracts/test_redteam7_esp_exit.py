"""Red team, round 7: the ESP stake's exit against the slashes still on their way.

``EspRegistry.exitDelay`` holds a stopped ESP's stake for the path of the last image it may have
attested: its lock's registration window and commit TTL, a dispute window for a watcher to
challenge, the windows of the contest (and, for a batch item, its resolve), and the reward hold
after which ``settle`` slashes. A contested Registry challenge has one more wait that the delay
did not count: the committee's review. The accused requests it before contesting, and the
Registry's ``resolve`` reverts ``CommitteeReviewPending`` until the review's reveal deadline,
so the revocation (and the slash at ``settle``, ``rewardHoldBlocks`` later) comes up to a
review's length later than the delay assumed.

Two guards that hold are kept here too: an ESP that left and came back answers for its old
copy with its new stake, and no slash can be pointed at an ESP that did not attest the copy.
(``uint128(stake)`` in ``register``/``addStake`` truncates only above 2^128 wei, more Ether than
exists: not reachable, not tested.)

The first test runs on the chain backend of ``cw`` (committee_kit: review phases of 8 blocks
each, dispute window 10, reward hold 22, registration window 40, commit TTL 8), the others on
``world``.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from ledger import errors
from tests.contracts.attack_kit import gas_cost, proof, settle_after_hold
from tests.contracts.attack_kit import register_image as register_as
from tests.contracts.committee_kit import committee_world
from tests.contracts.helpers import (
    BASE_FP,
    ESP_STAKE,
    FEE,
    NEAR_FP,
    challenge_and_finalize,
    copier_esp,
    details,
    lock_fee,
    register_esp,
    register_image,
    registration,
)

BURN = "0x000000000000000000000000000000000000dEaD"


@pytest.fixture
def cw(chain):
    yield from committee_world(chain)


def test_an_esp_cannot_exit_while_its_copy_waits_for_the_committee(cw):
    """The copy's ESP (the plagiarist's) takes the plagiarist's fee and deregisters in the next
    block; the copy is committed at the end of the lock's registration window. The original's
    owner challenges at the end of the copy's first dispute window (as late as a watcher is
    expected); the plagiarist asks the committee for a review in the window's last block but
    one and contests in its last, so ``resolve`` waits for the review's reveal deadline
    (``CommitteeReviewPending``); the committee sees the copy, ``resolve`` revokes it and
    ``settle`` may slash ``rewardHoldBlocks`` later.

    Before: ``exitDelay`` = registrationWindow + commitTtl + 3 x disputeWindow +
    rewardHoldBlocks (the batch path, the longer: 100 blocks here) ended before that
    settlement (108 blocks after the exit): the ESP withdrew its whole 0.1 ETH stake first and
    the slash found nothing, so the plagiarist's ESP kept ``slashAmount`` (0.05 ETH,
    50,000,000,000,000,000 wei) that an upheld challenge of its copy burns. At the product's
    figures the batch path's third dispute window (50,400 blocks) happens to cover a review
    (7,202), so this took review phases longer than a dispute window; nothing checked it.

    Fixed: ``bindRegistry`` adds the review (its commit and reveal phases and the two blocks of
    its draw: read from the Registry's ``detailVerifier().parameters()``, zero for a plain
    detail rule) to the Registry path (registrationWindow + commitTtl + 2 x disputeWindow +
    review + rewardHoldBlocks): 108 blocks here, the batch path's 100 still its floor; the
    product's delay is unchanged (259,210 blocks, the batch path's). The stake is held until
    the settlement, which slashes it. (Since the reward hold counts the review too, red team 7's
    test_redteam7_reward_hold.py, both paths are 19 blocks longer here: 128 and 119; the
    product's 266,413.)"""
    world = cw.world
    p = world.params
    cw.enroll(5)
    cw.producer_esp()
    original = register_image(world, world.producer, detail=details()["base"])
    copier = register_esp(world, world.accounts[8])
    # the plagiarist's fee, locked in the ESP's last active block; the ESP leaves, then claims it
    lock, preimage = lock_fee(world, sender=world.attacker, receiver=copier.address)
    esps = world.esps(copier)
    esps.deregister()
    world.htlc(copier).withdraw(lock, preimage)
    until = esps.periods_of(copier.address)[-1][1]
    lock_block = world.htlc(copier).lock_info(lock.id)[1]
    # committed in the registration window's last block, revealed commitTtl blocks later
    reg = registration(
        world.attacker.address,
        copier.address,
        lock=lock,
        fingerprint=NEAR_FP,
        detail=details()["near"],
    )
    chain = world.chain
    chain.mine(lock_block + p.registration_window_blocks - 1 - chain.w3.eth.block_number)
    plagiarist = world.registry(world.attacker)
    plagiarist.commit(reg)
    chain.mine(p.commit_ttl_blocks - 1)
    copy = plagiarist.reveal(reg, lock, plagiarist.sign_attestation(copier, reg))
    registry = world.registry(world.producer)
    revealed = registry.registered(copy).proof.reveal_block
    # the challenge in the last block of the copy's first dispute window
    chain.mine(revealed + p.dispute_window_blocks - 1 - chain.w3.eth.block_number)
    registry.challenge(original, copy)
    deadline = registry.dispute(original, copy).deadline
    world.chain.mine(deadline - 2 - world.chain.w3.eth.block_number)
    key = cw.request(original, copy, by=world.attacker, draw=False)  # block deadline - 1
    world.registry(world.attacker).contest(original, copy)  # block deadline: the last
    with pytest.raises(errors.CommitteeReviewPending):
        registry.resolve(original, copy)
    cw.draw(key, by=world.producer)
    cw.vote(key, [True, True, True, True, True])
    assert registry.resolve(original, copy) is True
    settle_from = registry.dispute(original, copy).deadline  # resolve + rewardHoldBlocks
    world.chain.increase_time(p.esp_unbonding_period + 1)
    world.chain.mine(settle_from - 1 - world.chain.w3.eth.block_number)
    # the block before the revocation may settle: the ESP tries to leave with all of it
    before = world.balance(copier.address)
    with pytest.raises(errors.EspStakeHeld):
        try:
            esps.withdraw_stake()
        except errors.EspStakeHeld:
            raise
        else:  # the hole: the whole stake left before the slash
            kept = world.balance(copier.address) - before + gas_cost(esps.last_receipt)
            pytest.fail(
                f"the ESP withdrew {kept} wei before its copy's slash (it left in block {until})"
            )
    registry.settle(original, copy)
    slash = p.esp_slash_amount
    assert esps.compensation_of(BURN) == slash  # found the stake; burned
    assert esps.esp_info(copier.address).stake == ESP_STAKE - slash
    assert esps.challenges_lost(copier.address) == 1


def test_an_esp_that_left_and_came_back_answers_for_its_old_copy_with_its_new_stake(world):
    """Slash dodging by re-registering (a guard that holds): the ESP attests a copy,
    deregisters, waits out ``exitDelay`` and withdraws its whole stake (no challenge came in
    time: the documented limit), then registers again under the same address with a fresh
    stake. The late challenge of its old copy is still decided and its settlement slashes the
    new stake: an address cannot shed its past, and ``challengesLost`` keeps counting."""
    register_esp(world)
    original = register_as(
        world, world.producer, world.producer.address, fp=BASE_FP, esp=copier_esp(world)
    )
    copy = register_as(
        world, world.attacker, world.attacker.address, fp=NEAR_FP, detail=details()["near"],
        esp=world.esp,
    )  # fmt: skip
    esps = world.esps(world.esp)
    esps.deregister()
    world.chain.increase_time(world.params.esp_unbonding_period + 1)
    world.chain.mine(world.deployment.esp_registry.functions.exitDelay().call() + 1)
    esps.withdraw_stake()
    esps.register("http://again.example", price=FEE, stake=ESP_STAKE)
    assert challenge_and_finalize(world, world.producer, original, copy)
    settle_after_hold(world, original, copy)
    slash = world.params.esp_slash_amount
    assert esps.esp_info(world.esp.address).stake == ESP_STAKE - slash
    assert esps.challenges_lost(world.esp.address) == 1
    assert esps.compensation_of(BURN) == slash


def test_a_slash_cannot_be_pointed_at_an_esp_that_did_not_attest_the_copy(world):
    """Griefing a slash onto an honest ESP (a guard that holds): ``settle`` slashes the ESP
    named in the copy's record proof, and the proof is checked against the stored record hash
    (192 bits of keccak): the same proof naming an honest, uninvolved ESP is refused
    (``RegistryBadProof``), its stake untouched; the true proof slashes the copy's own ESP."""
    register_esp(world)
    honest = register_esp(world, world.accounts[8])
    original = register_as(world, world.producer, world.producer.address, fp=BASE_FP, esp=world.esp)
    copy = register_as(
        world, world.attacker, world.attacker.address, fp=NEAR_FP, detail=details()["near"],
        esp=copier_esp(world),
    )  # fmt: skip
    assert challenge_and_finalize(world, world.producer, original, copy)
    world.chain.mine(world.params.reward_hold_blocks)
    registry = world.registry(world.producer)
    forged = replace(proof(world, copy), esp=honest.address)
    with pytest.raises(errors.RegistryBadProof):
        registry._send(registry.settle_call(original, copy, forged))
    esps = world.esps(world.deployer)
    assert esps.esp_info(honest.address).stake == ESP_STAKE
    registry.settle(original, copy)
    assert esps.esp_info(honest.address).stake == ESP_STAKE
    assert esps.challenges_lost(honest.address) == 0
    assert esps.challenges_lost(copier_esp(world).address) == 1
