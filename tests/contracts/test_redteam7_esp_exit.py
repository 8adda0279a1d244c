"""Red team, round 7: the ESP stake's exit against the slashes still on their way.

``EspRegistry.exitDelay`` holds a stopped ESP's stake for the path of the last image it may have
attested: its lock's registration window and commit TTL, a dispute window for a watcher to
challenge, the windows of the contest (and, for a batch item, its resolve), and the reward hold
after which ``settle`` slashes. A contested Registry challenge has one more wait that the delay
did not count: the committee's review. The accused requests it before contesting, and the
Registry's ``resolve`` reverts ``CommitteeReviewPending`` until the review's reveal deadline,
so the revocation (and the slash at ``settle``, ``rewardHoldBlocks`` later) comes up to a
review's length later than the delay assumed.

Runs on the chain backend of ``cw`` (committee_kit: review phases of 8 blocks each, dispute
window 10, reward hold 22, registration window 40, commit TTL 8).
"""

from __future__ import annotations

import pytest

from ledger import errors
from tests.contracts.attack_kit import gas_cost
from tests.contracts.committee_kit import committee_world
from tests.contracts.helpers import (
    ESP_STAKE,
    NEAR_FP,
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
    the settlement, which slashes it."""
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
