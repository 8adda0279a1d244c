"""Attacks on the committee of stage 3 (issue 11): each fails with its exact error or loses money.

(1) The squatter's race: the challenger resolves right after the contest, before the committee
voted (without a review the same resolve succeeds at once: that is the race). (2) A lazy juror
(always "no" without looking) and a silent one lose money over a mix of reviews, an honest one
earns. (3) Two bribed jurors of five vote "yes" on an unrelated pair: the verdict is "no" and
each loses its penalty to the honest majority. (4) Copying another's vote: a reveal in the commit
phase is refused, and a copied commitment cannot be opened by the copier. (5) A juror cannot
reveal another vote than it committed. (6) A dispute is reviewed once (no re-draw until a
friendly committee appears). (7) Ether is conserved to the wei over enroll, request, settle,
claim, leave. (8) A plagiarist's own open dispute of its victim's descriptors, reviewed "no":
lifted by resolving it first, and (strict xfail) kept when the plagiarist resolves the victim's
first.
"""

from __future__ import annotations

import pytest
from eth_utils import keccak

from ledger import errors
from ledger.clients.batch_registry import ItemOpening
from ledger.clients.registry import RecordProof, TokenStatus
from tests.contracts.committee_kit import (
    SALT,
    SILENT,
    CommitteeWorld,
    committee_world,
    expected_draw,
)
from tests.contracts.helpers import BASE_FP, NEAR_FP, details, register_esp, register_image

BURN = "0x000000000000000000000000000000000000dEaD"


@pytest.fixture
def cw(chain):
    yield from committee_world(chain)


def _synthetic(cw: CommitteeWorld, n: int, *, by=None) -> bytes:
    return cw.synthetic(n, by=by)


def test_the_challenger_cannot_resolve_before_the_committee_voted(cw):
    world = cw.world
    cw.enroll(5)
    original, copy = cw.copy_pair(detail="far")
    race = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()["near"])
    challenger, accused = world.registry(world.producer), world.registry(world.attacker)
    # Without a review the challenger wins the race: resolve right after the contest, by the rule.
    challenger.challenge(original, race)
    accused.contest(original, race)
    assert challenger.resolve(original, race) is True
    # The accused requests the review first: the same race reverts until the reveal deadline.
    challenger.challenge(original, copy)
    key = cw.request(original, copy, by=world.attacker)
    accused.contest(original, copy)
    with pytest.raises(errors.CommitteeReviewPending) as exc:
        challenger.resolve(original, copy)
    assert exc.value.revealDeadline == cw.committee().review(key).reveal_deadline
    cw.vote(key, [False, False, False, False, False])
    assert challenger.resolve(original, copy) is False
    assert challenger.record(copy).status is TokenStatus.ACTIVE


def test_lazy_and_silent_jurors_lose_over_a_mix_of_reviews(cw):
    """Five jurors serve four reviews, two of them copies: three honest, one that always votes
    "no" without looking, one that never reveals. Bond 0.05 ETH, fee 0.01 ETH: an honest juror
    ends +0.0475 ETH, the lazy one -0.0025 ETH, the silent one -0.1 ETH (measured here)."""
    world = cw.world
    p = world.params
    jurors = cw.enroll(5)
    honest, lazy, silent = jurors[:3], jurors[3], jurors[4]
    paid = {j.address: p.juror_bond for j in jurors}
    for n, truth in enumerate([True, False, True, False]):
        key = _synthetic(cw, 100 + 2 * n)
        drawn = cw.committee().review(key).jurors
        role = {j.address: truth for j in honest} | {lazy.address: False, silent.address: SILENT}
        cw.vote(key, [role[a] for a in drawn])
        cw.committee(world.buyer).settle(key)
        for j in (lazy, silent):  # a penalised juror is out of the pool: it posts a new bond
            if cw.committee().bond_of(j.address) == 0:
                cw.committee(j).enroll()
                paid[j.address] += p.juror_bond
    c = cw.committee()
    net = {j.address: c.bond_of(j.address) + c.owed(j.address) - paid[j.address] for j in jurors}
    milli = 10**15
    assert [net[j.address] for j in honest] == [47_500 * milli // 1000] * 3
    assert net[lazy.address] == -2_500 * milli // 1000
    assert net[silent.address] == -100 * milli


def test_a_bribed_minority_loses_its_penalty(cw):
    world = cw.world
    p = world.params
    cw.enroll(5)
    original, copy = cw.copy_pair(detail="far")  # unrelated images
    world.registry(world.producer).challenge(original, copy)
    key = cw.request(original, copy, by=world.attacker)
    world.registry(world.attacker).contest(original, copy)
    drawn = cw.vote(key, [True, True, False, False, False])  # two bribed "yes"
    assert world.registry(world.buyer).resolve(original, copy) is False
    c = cw.committee(world.buyer)
    c.settle(key)
    penalty = p.juror_bond // 5
    for bribed in drawn[:2]:
        assert c.owed(bribed) == p.juror_bond - penalty and c.bond_of(bribed) == 0
    for juror in drawn[2:]:
        assert c.owed(juror) == (p.review_fee + 2 * penalty) // 3
    assert sorted(c.jurors_enrolled()) == sorted(drawn[2:])


def test_a_vote_cannot_be_copied_before_the_reveal_phase(cw):
    world = cw.world
    cw.enroll(5)
    key = _synthetic(cw, 200)
    review = cw.committee().review(key)
    first, copier = cw.account(review.jurors[0]), cw.account(review.jurors[1])
    committed = cw.committee(first)
    committed.commit(key, True, SALT)
    with pytest.raises(errors.CommitteeWindow):  # its own reveal is refused in the commit phase
        committed.reveal(key, True, SALT)
    assert cw.committee().contract.functions.ballotOf(key, first.address).call() == 2  # hidden
    # The copier copies the commitment itself (from the first juror's transaction).
    tx = world.chain.w3.eth.get_transaction(committed.last_receipt["transactionHash"])
    copied = cw.committee().contract.decode_function_input(tx["input"])[1]["commitment"]
    cw.committee(copier)._send(cw.committee(copier).commit_call(key, copied))
    world.chain.mine(review.commit_deadline - world.chain.w3.eth.block_number)
    cw.committee(first).reveal(key, True, SALT)
    with pytest.raises(errors.CommitteeBadReveal):  # the commitment binds the first juror
        cw.committee(copier).reveal(key, True, SALT)


def test_a_juror_cannot_reveal_another_vote_than_committed(cw):
    world = cw.world
    cw.enroll(5)
    key = _synthetic(cw, 300)
    review = cw.committee().review(key)
    juror = cw.committee(cw.account(review.jurors[0]))
    juror.commit(key, False, SALT)
    world.chain.mine(review.commit_deadline - world.chain.w3.eth.block_number)
    with pytest.raises(errors.CommitteeBadReveal):
        juror.reveal(key, True, SALT)
    with pytest.raises(errors.CommitteeBadReveal):
        juror.reveal(key, False, keccak(b"another salt"))
    with pytest.raises(errors.CommitteeNotJuror):
        cw.committee(world.buyer).reveal(key, False, SALT)
    juror.reveal(key, False, SALT)
    with pytest.raises(errors.CommitteeAlreadyRevealed):
        juror.reveal(key, False, SALT)
    assert cw.committee().review(key).no == 1


def test_a_pair_is_reviewed_once(cw):
    world = cw.world
    cw.enroll(7)
    original, copy = cw.dispute(400)
    key = cw.request(original, copy, by=world.buyer)
    with pytest.raises(errors.CommitteeReviewExists):  # not by another requester either
        cw.request(original, copy, by=world.attacker, draw=False)
    cw.vote(key, [True] * 5)
    cw.committee(world.buyer).settle(key)
    with pytest.raises(errors.CommitteeReviewExists):  # nor after it was settled
        cw.request(original, copy, by=world.attacker, draw=False)
    # the same pair of descriptors in another dispute has a review of its own
    # (test_redteam2_committee: a verdict reached in one dispute decides no other)
    other = _synthetic(cw, 400, by=world.attacker)
    assert other != key and cw.committee().review(other).requester == world.attacker.address


def test_ether_is_conserved_to_the_wei(cw):
    world = cw.world
    p = world.params
    c = cw.committee()
    people = [*cw.jurors, world.buyer, world.attacker]

    def accounted(fees: int) -> None:
        held = sum(c.bond_of(a.address) + c.owed(a.address) for a in people)
        assert world.balance(c.address) == held + fees

    burned = world.balance(BURN)
    cw.enroll(7)
    accounted(0)
    decided = _synthetic(cw, 500)
    accounted(p.review_fee)
    cw.vote(decided, [True, True, False, SILENT, True])
    accounted(p.review_fee)
    cw.committee(world.buyer).settle(decided)
    accounted(0)
    # two penalised jurors left the pool: the five left (three winners, two never drawn) serve
    undecided = _synthetic(cw, 600, by=world.attacker)
    accounted(p.review_fee)
    cw.vote(undecided, [True, SILENT, SILENT, SILENT, False])
    cw.committee(world.buyer).settle(undecided)
    accounted(0)
    assert world.balance(BURN) == burned + 3 * (p.juror_bond // 2)  # no quorum: burned
    cw.committee(world.attacker).claim()
    accounted(0)
    for juror in cw.jurors:
        if c.bond_of(juror.address) + c.owed(juror.address):
            cw.committee(juror).leave()
    assert world.balance(c.address) == 0


GRIND_BLOCKS = 250  # 4 Sybils of 20 take 3 of 5 seats with p = 0.032 a draw: ~31 blocks expected


def test_the_requester_cannot_grind_the_draw(cw):
    """(8) A squatter holds 4 of 20 enrolled jurors. It tries the draw block after block and only
    lets its request stand in a block whose draw gives its Sybils 3 of the 5 seats (played here with
    snapshot/revert: the same as a contract that requests and reverts unless it wins, or a sender
    that computes the draw from the pending block). Before the two-step draw this won within a few
    dozen blocks; now the request draws nobody, and the earliest block in which anyone can draw
    (its draw block + 1) seeds the draw with the hash of a block mined after the request."""
    world, chain = cw.world, cw.world.chain
    pool = cw.enroll(20)
    sybils = {j.address for j in pool[:4]}
    won_at = None
    for tries in range(GRIND_BLOCKS):
        snap = chain.snapshot()
        key = cw.synthetic(700, by=world.attacker, draw=False)
        seen = cw.committee().review(key).jurors
        if not seen:  # blind: the request stands, whatever the draw will be
            break
        if len(sybils & set(seen)) >= 3:
            won_at = tries
            break
        chain.revert(snap)
        world._tx.clear()
        chain.mine(1)
    assert won_at is None, f"the requester picked a draw with 3 Sybils of 5 after {won_at} blocks"
    review = cw.committee().review(key)
    assert review.jurors == () and review.draw_block == chain.w3.eth.block_number + 1
    with pytest.raises(errors.CommitteeDrawTooEarly) as exc:  # its next transaction: in drawBlock
        cw.committee(world.attacker).draw(key)
    assert exc.value.drawBlock == review.draw_block
    chain.mine(1)  # the draw block is mined (in it, the request's sender could only add its own)
    outcome = cw.committee(world.attacker).draw(key)  # seeded by the draw block's hash
    seed = chain.w3.eth.get_block(review.draw_block)["hash"]
    assert outcome.outcome == "drawn"
    assert outcome.jurors == cw.committee().review(key).jurors == expected_draw(cw, seed, key, pool)


def _made_up(cw: CommitteeWorld, n: int, *, collection: str | None = None, **pair) -> bytes:
    """The squatter (the producer here) asks a review of a pair no forum disputes (made-up hashes
    and token ids; the openings of a single token carry the hashes)."""
    committee = cw.committee(cw.world.producer)
    hash_a, hash_b = keccak(b"made-up a%d" % n), keccak(b"made-up b%d" % n)
    opening = {
        side: ItemOpening(record=RecordProof(b"\1" * 32, h, committee.address, 1, 1, 1))
        for side, h in (("opening_a", hash_a), ("opening_b", hash_b))
    }
    args = {"original": n, "duplicate": n + 1, "hash_a": hash_a, "hash_b": hash_b}
    return committee.request_review(
        collection=collection or committee.address, **(args | opening | pair)
    )


def test_made_up_reviews_cannot_keep_the_jurors_busy(cw):
    """(10) Occupying the jurors. Five are enrolled: one review of a made-up pair (0.01 ETH) used
    to keep all five busy for a day, so the victim's request for its real dispute reverted
    ``CommitteeTooSmall`` and the detail rule decided its contest (4.3e-4 false matches a pair
    instead of stage 3's 3.6e-5): for 0.002 ETH a juror-day a squatter switched the committee
    off for the pairs it challenges. Now a review needs a dispute open at one of the three forums
    whose detail hashes the openings prove: each made-up request is refused and the victim's
    real dispute is reviewed (the committee, not the rule, keeps its token)."""
    world = cw.world
    jurors = cw.enroll(5)
    registry = world.deployment.registry.address
    with pytest.raises(errors.CommitteeUnknownForum):  # any collection: not a forum
        _made_up(cw, 1000)
    with pytest.raises(errors.CommitteeNoOpenDispute):  # a forum, but no such dispute
        _made_up(cw, 1002, collection=registry)
    # a dispute the squatter opens against its own Sybil copy, with made-up hashes
    original, copy = cw.dispute(1004)
    with pytest.raises(errors.CommitteeBadOpening):
        _made_up(cw, 1006, collection=registry, original=original, duplicate=copy)
    drawn_in = cw.committee().contract.functions.drawnIn
    assert all(drawn_in(j.address).call() == bytes(32) for j in jurors)  # all five free
    # The squatter's earlier image challenges the victim's unrelated one, which the rule matches
    squat, victim = cw.copy_pair(detail="near")
    world.registry(world.producer).challenge(squat, victim)
    key = cw.request(squat, victim, by=world.attacker)  # the victim (accused) asks: five free
    world.registry(world.attacker).contest(squat, victim)
    cw.vote(key, [False] * 5)
    assert world.registry(world.buyer).resolve(squat, victim) is False  # the rule would match
    assert world.registry(world.buyer).record(victim).status is TokenStatus.ACTIVE


def _immunised(cw: CommitteeWorld) -> tuple[int, int, int]:
    """The other direction of red team 2's pre-judged review: the plagiarist (the attacker)
    copies the victim's (the producer's) V as P, and keeps a dispute of its own open, (X, P),
    where X is a Sybil's earlier token carrying V's published descriptor through a second ESP;
    its review says "no" (here the votes are the test's: at the BatchRegistry a never-opened item
    X gets the jurors' burden vote "no"; at the Registry, a bribed majority). Then the victim
    challenges P, the plagiarist requests its review (the jurors say "yes": a copy) and contests.
    Both reviews are past; both disputes are Contested. Returns (V, P, X)."""
    world = cw.world
    cw.enroll(10)  # two reviews at once
    cw.producer_esp()
    plagiarist, sybil, victim = world.attacker, world.accounts[5], world.producer
    second_esp = register_esp(world, world.accounts[8])
    v = register_image(world, victim, fingerprint=BASE_FP, detail=details()["base"])
    published = world.registry(world.buyer).registered(v).detail
    x = register_image(
        world, sybil, esp=second_esp, fingerprint=BASE_FP, detail=published, content=b"unseen"
    )
    p = register_image(world, plagiarist, fingerprint=NEAR_FP, detail=details()["near"])
    world.registry(sybil).challenge(x, p)
    world.registry(plagiarist).contest(x, p)
    own = cw.request(x, p, by=plagiarist)
    cw.vote(own, [False] * 5)
    world.registry(victim).challenge(v, p)
    review = cw.request(v, p, by=plagiarist)
    world.registry(plagiarist).contest(v, p)
    cw.vote(review, [True] * 5)
    return v, p, x


def test_a_plagiarists_own_no_is_lifted_by_resolving_its_dispute_first(cw):
    """Each forum's ``resolve`` reads its own dispute's review (``matchesFor``): resolving (X, P)
    first decides it by its own "no", and the victim's (V, P) is decided by its "yes": P is
    revoked. (Before ``matchesFor`` this was the only order that revoked P: ``matches`` said "yes"
    only if every open dispute's review of the pair did.)"""
    world = cw.world
    v, p, x = _immunised(cw)
    assert world.registry(world.producer).resolve(x, p) is False  # decided: no longer open
    assert world.registry(world.producer).resolve(v, p) is True
    assert world.registry(world.buyer).record(p).status is TokenStatus.REVOKED


def test_a_plagiarists_own_open_dispute_does_not_decide_its_victims(cw):
    """The plagiarist resolves the victim's dispute the moment its review is past, before anyone
    resolves its own (X, P) (which would revert before: the victim's review was pending). The
    committee counts the "no" of (X, P), still open: P is kept and the plagiarist takes the
    victim's deposit (a strict xfail before). Fixed: each forum's ``resolve`` asks for its
    dispute's verdict (``matchesFor(original, duplicate, a, b)``, the review keyed
    ``reviewKey(forum, original, duplicate, hashA, hashB)``), so a verdict reached in another
    dispute decides nothing here (docs/provenance.md, "Committee (stage 3)", 12)."""
    world = cw.world
    v, p, _ = _immunised(cw)
    world.registry(world.attacker).resolve(v, p)
    assert world.registry(world.buyer).record(p).status is TokenStatus.REVOKED


def test_another_disputes_pending_review_does_not_hold_up_this_ones_resolve(cw):
    """The edge ``matchesFor`` opens: ``matches`` reverted ``CommitteeReviewPending`` while *any*
    open dispute of the pair at the forum had a review not yet past, so a plagiarist could hold
    up its victim's resolve by requesting, in a dispute of its own, a review nobody draws.
    ``matchesFor`` reads the calling forum's dispute only: the victim's (V, P), its review past,
    resolves while the plagiarist's (X, P) review is still undrawn; that one still reads
    pending."""
    world = cw.world
    cw.enroll(10)  # two reviews at once
    cw.producer_esp()
    plagiarist, sybil, victim = world.attacker, world.accounts[5], world.producer
    second_esp = register_esp(world, world.accounts[8])
    v = register_image(world, victim, fingerprint=BASE_FP, detail=details()["base"])
    published = world.registry(world.buyer).registered(v).detail
    x = register_image(
        world, sybil, esp=second_esp, fingerprint=BASE_FP, detail=published, content=b"unseen"
    )
    p = register_image(world, plagiarist, fingerprint=NEAR_FP, detail=details()["near"])
    copied = world.registry(world.buyer).registered(p).detail
    world.registry(victim).challenge(v, p)
    review = cw.request(v, p, by=plagiarist)
    world.registry(plagiarist).contest(v, p)
    cw.vote(review, [True] * 5)
    world.registry(sybil).challenge(x, p)
    world.registry(plagiarist).contest(x, p)
    cw.request(x, p, by=plagiarist)  # requested, never drawn: pending
    committee = cw.committee()
    forum = world.deployment.registry.address
    with pytest.raises(errors.CommitteeReviewPending):
        committee.matches(published, copied)  # the pair's every open review: one pending
    with pytest.raises(errors.CommitteeReviewPending):
        committee.matches_for(forum, x, p, published, copied)
    assert committee.matches_for(forum, v, p, published, copied) is True
    assert world.registry(world.producer).resolve(v, p) is True
    assert world.registry(world.buyer).record(p).status is TokenStatus.REVOKED
