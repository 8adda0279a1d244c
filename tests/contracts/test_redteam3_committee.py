"""Red team, round 3 (issue 11): the committee of stage 3 (CommitteeVerifier) with a juror who
is also a party to the dispute it reviews.

Runs on the chain backend of ``cw`` (committee_kit: short phases, twenty funded juror ESPs).
"""

from __future__ import annotations

import pytest

from ledger.clients.registry import TokenStatus
from tests.contracts.committee_kit import SALT, committee_world
from tests.contracts.helpers import NEAR_FP, details, register_image


@pytest.fixture
def cw(chain):
    yield from committee_world(chain)


@pytest.mark.xfail(
    strict=True,
    reason=(
        "open: the draw does not exclude a dispute's parties: the ESP that attested the copy "
        "sits on its own review, so two bribed jurors and it keep a copy the other two see"
    ),
)
def test_the_esp_that_attested_a_copy_does_not_sit_on_its_review(cw):
    """Jurors are staked ESPs, and an ESP is permissionless (0.1 ETH of stake, returned on
    exit): a plagiarist runs its own ESP, has it attest its copy and enrols it as a juror. The
    draw takes any free active juror, parties included: here (five enrolled, five drawn) the
    copy's own ESP is drawn into the review of its copy. Its "no" plus two bribed ones (the
    bribery test's two) make a majority: the copy is kept, and the two honest jurors who saw it
    lose a fifth of their bond each as the minority, paid to the party and the bribed. Without
    the party on the bench the same two bribes are a minority: the copy is revoked and the bribed
    lose (``test_a_bribed_minority_loses_its_penalty``).

    Fix it needs (contract, not made): ``requestReview`` records the dispute's parties (the two
    records' ESPs from the proofs it already checks, the challenger and the accused from the
    forum's dispute), ``draw`` skips them as it skips busy jurors (a scanned pool: candidates;
    a large one: probes), and a review whose pool lacks enough non-party jurors waits as a busy
    one does."""
    world = cw.world
    enrolled = cw.enroll(5)
    own_esp = enrolled[0]  # the plagiarist's ESP, enrolled as a juror like any other
    cw.producer_esp()
    original = register_image(world, world.producer, detail=details()["base"])
    copy = register_image(
        world, world.attacker, esp=own_esp, fingerprint=NEAR_FP, detail=details()["near"]
    )
    world.registry(world.producer).challenge(original, copy)
    key = cw.request(original, copy, by=world.attacker)
    world.registry(world.attacker).contest(original, copy)
    review = cw.committee().review(key)
    honest = [a for a in review.jurors if a.lower() != own_esp.address.lower()]
    # the party and two bribed jurors say "no", the other two see the copy
    votes = {own_esp.address.lower(): False, honest[0].lower(): False, honest[1].lower(): False}
    chain = world.chain
    for address in review.jurors:
        vote = votes.get(address.lower(), True)
        cw.committee(cw.account(address)).commit(key, vote, SALT)
    chain.mine(max(0, review.commit_deadline - chain.w3.eth.block_number))
    for address in review.jurors:
        cw.committee(cw.account(address)).reveal(key, votes.get(address.lower(), True), SALT)
    cw.past_reveal(key)

    world.registry(world.buyer).resolve(original, copy)
    assert world.registry(world.buyer).record(copy).status is TokenStatus.REVOKED
    assert own_esp.address.lower() not in [a.lower() for a in review.jurors]
