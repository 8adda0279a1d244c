"""Red team, round 7: a contested batch challenge whose committee review outlasts its resolve
window.

The BatchRegistry (and the BatchCourt) give a contested challenge one dispute window to resolve
(``contest`` sets the deadline); unresolved after it, ``finalize`` rejects it and the contester
takes both deposits ("the challenger did not run the detail rule in the whole window"). Its
``resolve`` reverts ``CommitteeReviewPending`` while the accused's review runs, and ``finalize``
did not ask: a review still pending at the deadline handed the contester the win (now it
waits for the review, as ``resolve`` does). Its length is
the review's phases plus the wait of its draw, which grows while the pool is busy with other
reviews (test_redteam2_committee: "occupying the pool buys delay, never a verdict"): here it
buys the verdict.

Runs on the chain backend of ``cw`` (committee_kit: review phases of 8 blocks each, longer than
the dispute window of 10; at the product's figures a review, 7,203 blocks, fits the 50,400-block
window unless its draw waits about 43,000 blocks for busy jurors: some six review periods of a
pool of five kept busy, 0.06 ETH of fees).
"""

from __future__ import annotations

import pytest
from eth_utils import keccak

from ledger import errors
from ledger.clients.batch_registry import BatchRegistryClient
from ledger.clients.registry import DisputeState, TokenStatus
from tests.contracts.attack_kit import proof
from tests.contracts.committee_kit import SALT, committee_world
from tests.contracts.helpers import details
from tests.contracts.test_attacks_batch import _challenge as batch_challenge
from tests.contracts.test_attacks_batch import _contest as batch_contest
from tests.contracts.test_attacks_batch import _original_and_copy as batch_pair
from tests.contracts.test_batch_court import _batched_original_and_single_copy as court_pair
from tests.contracts.test_batch_court import _challenge as court_challenge
from tests.contracts.test_batch_court import _resolve as court_resolve
from tests.contracts.test_batch_court import court


@pytest.fixture
def cw(chain):
    yield from committee_world(chain)


def test_a_review_pending_at_the_resolve_deadline_does_not_hand_the_copy_the_win(cw):
    """The accused batches a near copy, requests the committee's review of the challenge and
    contests; the jurors all see the copy, but their reveal deadline falls after the contest's
    resolve deadline, and meanwhile ``resolve`` reverts ``CommitteeReviewPending``. One block
    past the resolve deadline the accused finalizes: Rejected, the copy stays ACTIVE and the
    contester takes both deposits (+0.01 ETH, the challenger's), the copy keeps its bond (0.01
    ETH) and its ESP its stake (0.05 ETH would have been burned at ``settle``), against the
    review fee (0.01 ETH, to the jurors, who voted the copy). Now ``finalize`` of a contested
    challenge asks the committee (``checkReviewed``) and reverts ``CommitteeReviewPending`` until
    the review's reveal deadline; the challenger resolves then and the copy is revoked."""
    world = cw.world
    cw.enroll(5)
    original, pa, copy, pb = batch_pair(world, copy_detail=details()["near"])
    batch_challenge(world, original, pa, copy, pb)
    ia, ib = original & 0xFFFFFFFF, copy & 0xFFFFFFFF
    key = cw.committee(world.attacker).request_review(
        collection=world.deployment.batch_registry.address,
        original=original,
        duplicate=copy,
        hash_a=keccak(details()["base"]),
        hash_b=keccak(details()["near"]),
        opening_a=pa.opening(ia),
        opening_b=pb.opening(ib),
    )
    cw.draw(key, by=world.producer)
    batch_contest(world, original, copy, pb)
    args = {
        "detail_a": details()["base"],
        "opening_a": pa.opening(ia),
        "detail_b": details()["near"],
        "opening_b": pb.opening(ib),
    }
    challenger = BatchRegistryClient(world.deployment, world.tx(world.producer))
    accused = BatchRegistryClient(world.deployment, world.tx(world.attacker))
    with pytest.raises(errors.CommitteeReviewPending):
        challenger.resolve(original, copy, **args)
    deadline = accused.dispute(original, copy).deadline
    review = cw.committee().review(key)
    assert review.reveal_deadline > deadline  # the verdict comes after the resolve window
    chain = world.chain
    # the jurors commit "yes" now; the accused finalizes before they can reveal it
    for address in review.jurors:
        cw.committee(cw.account(address)).commit(key, True, SALT)
    chain.mine(max(0, deadline - chain.w3.eth.block_number))  # finalize lands at deadline + 1
    with pytest.raises(errors.CommitteeReviewPending):  # finalize waits for the review
        accused.finalize(original, copy)
    state = accused.dispute(original, copy).state
    assert state is not DisputeState.REJECTED
    assert accused.status(copy) is TokenStatus.ACTIVE  # still to be decided by the review
    chain.mine(max(0, review.commit_deadline - chain.w3.eth.block_number))
    for address in review.jurors:
        cw.committee(cw.account(address)).reveal(key, True, SALT)
    cw.past_reveal(key)
    assert challenger.resolve(original, copy, **args) is True
    assert accused.status(copy) is TokenStatus.REVOKED


def test_a_review_pending_at_the_court_resolve_deadline_does_not_hand_the_copy_the_win(cw):
    """The same at the BatchCourt (a batched original, a later single near copy): the copy's
    owner requests the review and contests; its reveal deadline falls after the resolve
    deadline. Before, the court's ``finalize`` one block past it rejected the challenge (the
    copy kept, both deposits to its contester, its ESP's 0.05 ETH slash never burned); now it
    reverts ``CommitteeReviewPending`` until the reveal deadline, and the review's verdict
    revokes the copy at ``resolve``."""
    world = cw.world
    cw.enroll(5)
    original, pa, copy = court_pair(world, copy_detail=details()["near"])
    court_challenge(world, original, pa, copy)
    key = cw.committee(world.attacker).request_review(
        collection=world.deployment.batch_court.address,
        original=original,
        duplicate=copy,
        hash_a=keccak(details()["base"]),
        hash_b=keccak(details()["near"]),
        opening_a=pa.opening(original & 0xFFFFFFFF),
    )
    cw.draw(key, by=world.producer)
    accused = court(world, world.attacker)
    accused.contest(original, copy)
    with pytest.raises(errors.CommitteeReviewPending):
        court_resolve(world, original, pa, copy)
    deadline = accused.dispute(original, copy).deadline
    review = cw.committee().review(key)
    assert review.reveal_deadline > deadline
    chain = world.chain
    for address in review.jurors:
        cw.committee(cw.account(address)).commit(key, True, SALT)
    chain.mine(max(0, deadline - chain.w3.eth.block_number))  # finalize lands at deadline + 1
    with pytest.raises(errors.CommitteeReviewPending):
        accused.finalize(original, copy, proof(world, copy))
    assert accused.dispute(original, copy).state is DisputeState.CONTESTED
    chain.mine(max(0, review.commit_deadline - chain.w3.eth.block_number))
    for address in review.jurors:
        cw.committee(cw.account(address)).reveal(key, True, SALT)
    cw.past_reveal(key)
    assert court_resolve(world, original, pa, copy) is True
    assert world.registry(world.deployer).record(copy).status is TokenStatus.REVOKED
