"""Red team, round 7: the Registry's reward hold against a committee review of the winner.

``rewardHoldBlocks`` (two dispute windows and two blocks) is sized so that "a challenge of the
winner opened within a window of its win is decided (and the win reversed) before the winner can
settle" (ledger/deploy.py; test_redteam_registration_edges.py's
``test_a_challenge_of_the_winner_opened_a_window_after_its_win_reverses_it`` holds it for an
uncontested challenge). A contested one
waits for the committee's review, which its accused (the winner's owner) requests: the
Registry's ``resolve`` reverts ``CommitteeReviewPending`` until the review's reveal deadline, a
review's length after the hold.

Runs on the chain backend of ``cw`` (committee_kit: review phases of 8 blocks each, dispute
window 10, reward hold 22).
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


@pytest.mark.xfail(
    strict=True,
    reason="a winner contesting its own challenge with a committee review settles its win "
    "(the victim's bond and its ESP's 0.05 ETH burned) before the review lets the challenge "
    "revoke it; fix: rewardHoldBlocks >= 2 x disputeWindow + 2 + the review (its phases + 3)",
)
def test_a_winner_cannot_outwait_the_hold_with_a_review_of_its_own_challenge(cw):
    """A squatter's A (a near copy of Z, an image published earlier) wins an uncontested
    challenge against B at block W (B's bond held, its ESP to be slashed at ``settle``). Z's
    owner challenges A at W + D, within a window of the win, as the hold expects. The squatter
    requests the committee's review of that challenge in its window's last block but one and
    contests in its last (W + 2D): ``resolve`` now waits for the review's reveal deadline
    (W + 2D + 18 here). At W + 2D + 2 the hold ends and the squatter settles its win; A is
    revoked only after (the committee sees the copy), too late: B stays revoked for good.

    Figures (test deployment): B's ESP loses ``slashAmount`` (0.05 ETH, burned), B's owner its
    bond (0.01 ETH: 0.0002 reward to the squatter, the rest burned; ``reinstate`` asks a new
    one). The squatter, against not contesting (A revoked at W + 2D + 1, its win reversed, its
    deposit to B's owner): keeps its 0.01 ETH deposit and the 0.0002 ETH reward for a 0.01 ETH
    contest deposit (lost to Z's owner) and the 0.01 ETH review fee (to the jurors): -0.0098
    ETH for 0.06 ETH burned of two honest parties. Griefing, not a profit.

    Fix (not made: it moves ``rewardHoldBlocks`` and every test's deployment): the Registry's
    constructor refuses ``rewardHoldBlocks < 2 * disputeWindow + 2 + review``, ``review`` the
    committee's commit and reveal phases + 3 (read from its ``parameters()``, as
    ``EspRegistry.bindRegistry`` now does), 108,005 blocks at the defaults (100,802 now)."""
    world = cw.world
    cw.enroll(5)
    cw.producer_esp()
    copier_esp(world)
    window = world.params.dispute_window_blocks
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
    assert held_until == won + 2 * window + 2
    world.chain.mine(window - 1)
    z_owner.challenge(z, a)  # at W + D: within a window of the win
    deadline = z_owner.dispute(z, a).deadline
    world.chain.mine(deadline - 2 - w3.eth.block_number)
    key = cw.request(z, a, by=world.attacker, draw=False)
    squatter.contest(z, a)  # the window's last block
    with pytest.raises(errors.CommitteeReviewPending):
        z_owner.resolve(z, a)
    world.chain.mine(held_until - 1 - w3.eth.block_number)
    squatter.settle(a, b)  # W + 2D + 2: the hold is over, A still active
    cw.draw(key, by=world.buyer)
    cw.vote(key, [True, True, True, True, True])  # A is Z's copy
    assert z_owner.resolve(z, a) is True
    assert squatter.record(a).status is TokenStatus.REVOKED
    if squatter.dispute(a, b).state is DisputeState.UPHELD:
        squatter.settle(a, b)  # reversed
    assert squatter.record(b).status is TokenStatus.ACTIVE
