"""Red team, round 2 (issue 11): the committee of stage 3 (CommitteeVerifier) as an attacker
with a budget sees it.

Where the contract still lets the attack through, the test states the behaviour the issue asks
for and is marked ``xfail(strict=True)`` with the hole in one line; the contract fix it needs is
in its docstring (contract changes are made by the contract build's owner).
"""

from __future__ import annotations

import pytest
from eth_utils import keccak

from ledger import errors
from ledger.clients.registry import TokenStatus
from tests.contracts.committee_kit import committee_world
from tests.contracts.helpers import BASE_FP, NEAR_FP, details, register_esp, register_image


@pytest.fixture
def cw(chain):
    yield from committee_world(chain)


@pytest.mark.xfail(
    strict=True,
    raises=errors.CommitteeReviewExists,
    reason="a review is keyed by the two detail hashes alone: a squatter has its own dispute "
    "with the victim's published descriptor reviewed first (jurors, never shown the victim's "
    "image, apply the detail rule) and that verdict decides the victim's dispute, whose own "
    "review is refused",
)
def test_a_squatter_cannot_prejudge_its_victims_review_in_a_dispute_of_its_own(cw):
    """The committee exists for the pairs the detail rule matches falsely (4.3e-4 a pair against
    stage 3's 3.6e-5, docs/provenance.md): the accused shows its image and the jurors run stage
    3. But ``reviewKey(detailHashA, detailHashB)`` names descriptors, not a dispute: a pair of
    descriptors is reviewed once, in whichever dispute asks first, and ``matches`` answers that
    verdict to every forum's ``resolve`` of any two tokens with those descriptors.

    The squatter's early token S and the victim's later V (another ESP) are a pair the compact
    and detail rules match but stage 3 does not. V's reveal publishes its descriptor. The
    squatter registers, through a Sybil, S2: any bytes (never shown), carrying V's descriptor
    (nothing on chain ties a descriptor to the content), challenges it with S and requests the
    review of (S, S2). Its jurors are never shown an image with V's descriptor, so by their
    published rule (docs/committee-jurors.md: "either missing or not the record's, both
    descriptors known: the detail rule") they vote "yes", honestly. Then it challenges V with S:
    the victim's request for its review reverts ``CommitteeReviewExists``, and its contest is
    resolved by the verdict of the squatter's dispute: V is revoked by the detail rule's false
    match, the very verdict the committee is there to overturn. Run it in the block after V's
    reveal and the victim's defender has no earlier moment to ask.

    At the defaults the squatter pays, per victim: S2's bond (0.01 ETH, burned but for the
    0.0002 reward when S2's revocation settles) and a fee to its own second ESP, the review fee
    (0.01 ETH, to the jurors), and the (S, S2) challenge's deposit (0.01 ETH, back at settle),
    plus, if anyone settles (S2, uncontested, is revoked at the window's end), a 0.05 ETH slash
    of its second ESP's stake (burned): 0.02 to 0.07 ETH to revoke a token the committee would
    have kept. It wins the victim's contest deposit (0.01 ETH) and the 0.0002 reward; the victim
    loses its token, its bond (0.01 ETH) and that deposit, and its honest ESP is slashed.

    Fix (contract): key a review by its dispute, ``keccak256(abi.encode(forum, original,
    duplicate, detailHashA, detailHashB))`` (so a victim's dispute always has a review of its
    own to ask for), and have the forums ask for that dispute's verdict (``matchesFor(original,
    duplicate, a, b)`` from each forum, falling back to the rule when it holds no review), so
    that a verdict reached without the victim's image decides nothing but the dispute it was
    asked in."""
    world = cw.world
    cw.enroll(5)
    cw.producer_esp()
    squatter, sybil, victim = world.attacker, world.accounts[5], world.producer
    second_esp = register_esp(world, world.accounts[8])  # the squatter's other ESP
    # S: the squatter's early token (its default ESP, dev account 6); V: the victim's, later,
    # through the victim's ESP; the rules admit the pair.
    s = register_image(world, squatter, fingerprint=BASE_FP, detail=details()["base"])
    v = register_image(world, victim, fingerprint=NEAR_FP, detail=details()["near"])
    published = world.registry(world.buyer).registered(v).detail
    # S2: the Sybil's bytes, carrying V's published descriptor, attested by the squatter's other
    # ESP (S's own ESP would make the dispute an equivocation, which revokes nothing).
    s2 = register_image(
        world, sybil, esp=second_esp, fingerprint=NEAR_FP, detail=published, content=b"unseen"
    )
    world.registry(squatter).challenge(s, s2)  # open: a review may be asked within its window
    prejudged = cw.request(s, s2, by=squatter)
    assert (
        prejudged
        == cw.committee()
        .contract.functions.reviewKey(keccak(details()["base"]), keccak(published))
        .call()
    )
    cw.vote(prejudged, [True] * 5)  # the detail rule on the two descriptors: "yes"

    world.registry(squatter).challenge(s, v)
    try:
        own = cw.request(s, v, by=victim)  # the victim asks for its review before contesting
    except errors.CommitteeReviewExists:
        # Refused: the victim contests all the same and the squatter's verdict revokes V.
        world.registry(victim).contest(s, v)
        assert world.registry(world.buyer).resolve(s, v) is True
        assert world.registry(world.buyer).record(v).status is TokenStatus.REVOKED
        raise
    world.registry(victim).contest(s, v)
    cw.vote(own, [False] * 5)  # shown V's image, the jurors' stage 3 keeps it
    world.registry(world.buyer).resolve(s, v)

    assert world.registry(world.buyer).record(v).status is TokenStatus.ACTIVE
