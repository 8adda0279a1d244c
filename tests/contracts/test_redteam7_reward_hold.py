"""Red team, round 7: the Registry's reward hold against a committee review of the winner.

``rewardHoldBlocks`` is sized so that "a challenge of the winner opened within a window of its
win is decided (and the win reversed) before the winner can settle" (ledger/deploy.py;
test_redteam_registration_edges.py's
``test_a_challenge_of_the_winner_opened_a_window_after_its_win_reverses_it`` holds it for an
uncontested challenge). A contested one waits for the committee's review, which its accused (the
winner's owner) requests: the Registry's ``resolve`` reverts ``CommitteeReviewPending`` until the
review's reveal deadline. At two dispute windows and two blocks that came a review's length
after the hold, and the winner settled first; the hold now counts the review too (the Registry's
constructor refuses less: 2 x window + 2 + the review's phases + 3).

Runs on the chain backend of ``cw`` (committee_kit: review phases of 8 blocks each, dispute
window 10, reward hold 41).
"""

from __future__ import annotations

import pytest

from ledger import TokenStatus, errors
from ledger.clients.registry import DisputeState
from tests.contracts.attack_kit import register_image
from tests.contracts.committee_kit import committee_world
from tests.contracts.helpers import BASE_FP, NEAR_FP, copier_esp, details
from tests.contracts.test_redteam_registration_edges import B_FP

BURN = "0x000000000000000000000000000000000000dEaD"


@pytest.fixture
def cw(chain):
    yield from committee_world(chain)


def test_a_winner_cannot_outwait_the_hold_with_a_review_of_its_own_challenge(cw):
    """A squatter's A (a near copy of Z, an image published earlier) wins an uncontested
    challenge against B at block W (B's bond held, its ESP to be slashed at ``settle``). Z's
    owner challenges A at W + D, within a window of the win, as the hold expects. The squatter
    requests the committee's review of that challenge in its window's last block but one and
    contests in its last (W + 2D): ``resolve`` waits for the review's reveal deadline
    (W + 2D + 18 here). Before, the hold ended at W + 2D + 2 and the squatter settled its win
    first: B's ESP lost ``slashAmount`` (0.05 ETH, burned), B's owner its bond (0.01 ETH: 0.0002
    to the squatter, the rest burned), for -0.0098 ETH to the squatter against not contesting
    (griefing). Now the hold is 2D + 2 + 8 + 8 + 3 (W + 2D + 21): the squatter's ``settle``
    is refused until then, Z's owner resolves at W + 2D + 19 (A revoked), and the settlement
    reverses the win (B active, the held deposits to B's owner)."""
    world = cw.world
    cw.enroll(5)
    cw.producer_esp()
    copier_esp(world)
    window = world.params.dispute_window_blocks
    review = world.params.review_commit_blocks + world.params.review_reveal_blocks + 3
    assert world.params.reward_hold_blocks == 2 * window + 2 + review
    w3 = world.chain.w3
    z = register_image(world, world.buyer, world.buyer.address, fp=BASE_FP, esp=world.esp)
    a = register_image(
        world, world.attacker, world.attacker.address, fp=NEAR_FP, detail=details()["near"]
    )
    b = register_image(world, world.producer, world.producer.address, fp=B_FP)
    squatter, z_owner = world.registry(world.attacker), world.registry(world.buyer)
    squatter.challenge(a, b)
    world.chain.mine(window + 1)
    assert squatter.finalize(a, b) is True
    won = w3.eth.block_number
    held_until = squatter.dispute(a, b).deadline
    assert held_until == won + 2 * window + 2 + review
    world.chain.mine(window - 1)
    z_owner.challenge(z, a)  # at W + D: within a window of the win
    deadline = z_owner.dispute(z, a).deadline
    world.chain.mine(deadline - 2 - w3.eth.block_number)
    key = cw.request(z, a, by=world.attacker, draw=False)
    squatter.contest(z, a)  # the window's last block
    with pytest.raises(errors.CommitteeReviewPending):
        z_owner.resolve(z, a)
    with pytest.raises(errors.RegistryRewardHeld):
        squatter.settle(a, b)  # W + 2D + 1: what the old hold allowed the next block
    cw.draw(key, by=world.buyer)
    cw.vote(key, [True, True, True, True, True])  # A is Z's copy; mined to the reveal deadline
    with pytest.raises(errors.RegistryRewardHeld):
        squatter.settle(a, b)  # the hold still runs
    assert w3.eth.block_number + 1 < held_until
    assert z_owner.resolve(z, a) is True  # the block after the reveal deadline
    assert squatter.record(a).status is TokenStatus.REVOKED
    squatter.settle(a, b)  # reversed
    assert squatter.dispute(a, b).state is DisputeState.REVERSED
    assert squatter.record(b).status is TokenStatus.ACTIVE
