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


def _vote_with_the_party(cw, key, review, party: str) -> None:
    """The party and two bribed jurors vote "no", the other two see the copy ("yes")."""
    honest = [a for a in review.jurors if a.lower() != party.lower()]
    votes = {party.lower(): False, honest[0].lower(): False, honest[1].lower(): False}
    chain = cw.world.chain
    for address in review.jurors:
        cw.committee(cw.account(address)).commit(key, votes.get(address.lower(), True), SALT)
    chain.mine(max(0, review.commit_deadline - chain.w3.eth.block_number))
    for address in review.jurors:
        cw.committee(cw.account(address)).reveal(key, votes.get(address.lower(), True), SALT)
    cw.past_reveal(key)


def test_the_esp_that_attested_a_copy_does_not_sit_on_its_review(cw):
    """Jurors are staked ESPs, and an ESP is permissionless (0.1 ETH of stake, returned on
    exit): a plagiarist runs its own ESP, has it attest its copy and enrols it as a juror. The
    draw takes any free active juror, parties included: here (five enrolled, five drawn) the
    copy's own ESP is drawn into the review of its copy. Its "no" plus two bribed ones (the
    bribery test's two) make a majority: the copy is kept, and the two honest jurors who saw it
    lose a fifth of their bond each as the minority, paid to the party and the bribed. Without
    the party on the bench the same two bribes are a minority: the copy is revoked and the bribed
    lose (``test_a_bribed_minority_loses_its_penalty``).

    Before the fix the copy stayed ACTIVE. Fix (contract, made): ``requestReview`` records the
    two records' ESPs (from the proofs it already checks) as the review's parties and ``draw``
    skips them as it skips busy jurors (a scanned pool: candidates; a large one: probes); here
    only four others are enrolled, so the draw cancels and the detail rule decides (it matches
    the near copy)."""
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
    if review.jurors:  # before the fix: the party sits, with two bribed jurors
        _vote_with_the_party(cw, key, review, own_esp.address)
    else:
        assert cw.committee().review(key).cancelled  # too few others: the rule decides
    world.registry(world.buyer).resolve(original, copy)
    assert world.registry(world.buyer).record(copy).status is TokenStatus.REVOKED
    assert own_esp.address.lower() not in [a.lower() for a in review.jurors]


def test_with_enough_other_jurors_the_party_is_left_out_and_the_bribes_lose(cw):
    """The fix with a pool that can seat five others: the copy's ESP is enrolled but never
    drawn, the two bribed "no" are the minority, the copy is revoked and they lose a fifth of
    their bond each (``test_a_bribed_minority_loses_its_penalty``'s outcome)."""
    world = cw.world
    enrolled = cw.enroll(6)
    own_esp = enrolled[0]
    cw.producer_esp()
    original = register_image(world, world.producer, detail=details()["base"])
    copy = register_image(
        world, world.attacker, esp=own_esp, fingerprint=NEAR_FP, detail=details()["near"]
    )
    world.registry(world.producer).challenge(original, copy)
    key = cw.request(original, copy, by=world.attacker)
    world.registry(world.attacker).contest(original, copy)
    drawn = cw.committee().review(key).jurors
    assert own_esp.address.lower() not in [a.lower() for a in drawn]
    assert len(drawn) == 5
    cw.vote(key, [False, False, True, True, True])  # two bribed "no"
    world.registry(world.buyer).resolve(original, copy)
    assert world.registry(world.buyer).record(copy).status is TokenStatus.REVOKED
    c = cw.committee(world.buyer)
    c.settle(key)
    bond = world.params.juror_bond
    for bribed in drawn[:2]:
        assert c.owed(bribed) == bond - bond // 5 and c.bond_of(bribed) == 0
