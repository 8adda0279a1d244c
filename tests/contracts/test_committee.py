"""The CommitteeVerifier (issue 11, stage 3): with nobody enrolled a contested challenge is decided
by the detail rule as before; with five enrolled ESPs a requested review decides it by the
revealed majority (both ways), `resolve` waits for it, no quorum falls back on the rule, a tie keeps
the token; settlement pays and penalises to the wei; jurors must be active ESPs and stay while
drawn; the BatchRegistry's and the BatchCourt's `resolve` go through the committee too."""

from __future__ import annotations

import importlib
from dataclasses import astuple, replace

import pytest
from eth_utils import keccak

from ledger import errors
from ledger.clients.batch_registry import BatchRegistryClient, ItemOpening
from ledger.clients.committee import review_key
from ledger.clients.registry import DisputeState, TokenStatus
from tests.conftest import TEST_PARAMS
from tests.contracts.committee_kit import SILENT, CommitteeWorld, committee_world
from tests.contracts.helpers import details
from tests.contracts.test_attacks_batch import _challenge as batch_challenge
from tests.contracts.test_attacks_batch import _contest as batch_contest
from tests.contracts.test_attacks_batch import _original_and_copy as batch_pair
from tests.contracts.test_batch_court import _batched_original_and_single_copy as court_pair
from tests.contracts.test_batch_court import _challenge as court_challenge
from tests.contracts.test_batch_court import _resolve as court_resolve
from tests.contracts.test_batch_court import court

BURN = "0x000000000000000000000000000000000000dEaD"
NO_OPENING = ItemOpening().as_tuple()


@pytest.fixture
def cw(chain):
    yield from committee_world(chain)


def _contested(cw: CommitteeWorld, *, detail: str, review: bool = True) -> tuple[int, int, bytes]:
    """The producer challenges the attacker's later image; the accused requests a review (unless
    ``review`` is False), then contests. Returns (original, copy, review key)."""
    world = cw.world
    original, copy = cw.copy_pair(detail=detail)
    world.registry(world.producer).challenge(original, copy)
    key = cw.request(original, copy, by=world.attacker) if review else b""
    world.registry(world.attacker).contest(original, copy)
    return original, copy, key


def test_nobody_enrolled_the_rule_decides_as_before(cw):
    world = cw.world
    committee = cw.committee(world.attacker)
    a, b = details()["base"], details()["near"]
    assert committee.matches(a, b) is True
    assert committee.matches(a, details()["far"]) is False
    assert committee.contract.functions.length().call() == len(a)
    original, copy, _ = _contested(cw, detail="near", review=False)
    with pytest.raises(errors.CommitteeTooSmall) as exc:  # nobody to draw
        cw.request(original, copy, by=world.attacker)
    assert (exc.value.enrolled, exc.value.needed) == (0, 5)
    assert world.registry(world.buyer).resolve(original, copy) is True
    assert world.registry(world.buyer).record(copy).status is TokenStatus.REVOKED


def test_the_committee_keeps_a_pair_the_rule_matches_when_it_says_no(cw):
    """The rule matches this pair; the committee (a stand-in for a false match of the rule that
    stage 3 sees through) votes 3-2 "no": the accused keeps its token and takes both deposits."""
    world = cw.world
    cw.enroll(5)
    original, copy, key = _contested(cw, detail="near")
    with pytest.raises(errors.CommitteeReviewPending) as exc:
        world.registry(world.producer).resolve(original, copy)
    assert exc.value.key == key
    cw.vote(key, [False, False, False, True, True])
    before = world.balance(world.attacker.address)
    assert world.registry(world.buyer).resolve(original, copy) is False
    assert world.registry(world.buyer).record(copy).status is TokenStatus.ACTIVE
    assert world.registry(world.buyer).dispute(original, copy).state is DisputeState.REJECTED
    assert world.balance(world.attacker.address) == before + 2 * world.params.challenge_deposit


def test_the_committee_revokes_a_copy_when_it_says_yes(cw):
    """The rule does not match this pair; the committee votes "yes" 4-1: the copy is revoked."""
    world = cw.world
    cw.enroll(5)
    original, copy, key = _contested(cw, detail="far")
    cw.vote(key, [True, True, True, True, False])
    assert world.registry(world.buyer).resolve(original, copy) is True
    assert world.registry(world.buyer).record(copy).status is TokenStatus.REVOKED


def test_without_a_quorum_the_rule_decides(cw):
    world = cw.world
    cw.enroll(5)
    original, copy, key = _contested(cw, detail="near")
    cw.vote(key, [False, False, SILENT, SILENT, SILENT])  # 2 of 5 revealed: no quorum
    assert world.registry(world.buyer).resolve(original, copy) is True  # the rule: a copy


def test_a_tie_keeps_the_token(cw):
    world = cw.world
    cw.enroll(5)
    original, copy, key = _contested(cw, detail="near")
    cw.vote(key, [True, True, False, False, SILENT])  # 4 of 5 revealed, 2-2
    assert world.registry(world.buyer).resolve(original, copy) is False
    assert world.registry(world.buyer).record(copy).status is TokenStatus.ACTIVE


def test_settle_pays_the_majority_and_penalises_to_the_wei(cw):
    world = cw.world
    p = world.params
    cw.enroll(5)
    committee = cw.committee(world.buyer)
    key = cw.synthetic(1)
    assert world.balance(committee.address) == 5 * p.juror_bond + p.review_fee
    with pytest.raises(errors.CommitteeReviewPending):  # not before the reveal deadline
        committee.settle(key)
    drawn = cw.vote(key, [True, True, True, False, SILENT])
    burned = world.balance(BURN)
    committee.settle(key)
    minority, silent = p.juror_bond // 5, p.juror_bond // 2
    share = (p.review_fee + minority + silent) // 3
    for juror in drawn[:3]:
        assert committee.owed(juror) == share
        assert committee.bond_of(juror) == p.juror_bond
    assert committee.owed(drawn[3]) == p.juror_bond - minority
    assert committee.owed(drawn[4]) == p.juror_bond - silent
    assert committee.bond_of(drawn[3]) == committee.bond_of(drawn[4]) == 0
    assert sorted(committee.jurors_enrolled()) == sorted(drawn[:3])  # the penalised left
    assert world.balance(BURN) == burned  # a quorum: penalties go to the majority
    held = 3 * p.juror_bond + sum(committee.owed(j) for j in drawn)
    assert world.balance(committee.address) == held
    assert 3 * share == p.review_fee + minority + silent  # no dust at these parameters
    with pytest.raises(errors.CommitteeSettled):
        committee.settle(key)
    for juror in drawn:
        cw.committee(cw.account(juror)).leave()
    assert world.balance(committee.address) == 0


def test_no_quorum_refunds_the_fee_and_burns_the_silent_penalties(cw):
    world = cw.world
    p = world.params
    cw.enroll(5)
    committee = cw.committee(world.buyer)
    key = cw.synthetic(3)
    drawn = cw.vote(key, [True, False, SILENT, SILENT, SILENT])
    burned = world.balance(BURN)
    committee.settle(key)
    assert world.balance(BURN) == burned + 3 * (p.juror_bond // 2)
    assert committee.owed(world.buyer.address) == p.review_fee
    assert committee.owed(drawn[0]) == committee.owed(drawn[1]) == 0  # no pay without a quorum
    assert committee.bond_of(drawn[0]) == p.juror_bond
    before = world.balance(world.buyer.address)
    committee.claim()
    gas = committee.last_receipt["gasUsed"] * committee.last_receipt["effectiveGasPrice"]
    assert world.balance(world.buyer.address) == before + p.review_fee - gas


def test_a_drawn_juror_cannot_leave_until_settled(cw):
    world = cw.world
    jurors = cw.enroll(5)
    committee = cw.committee(world.buyer)
    key = cw.synthetic(5)
    with pytest.raises(errors.CommitteeJurorBusy) as exc:
        cw.committee(jurors[0]).leave()
    assert exc.value.key == key
    cw.vote(key, [True] * 5)
    committee.settle(key)
    cw.committee(jurors[0]).leave()
    assert jurors[0].address not in cw.committee().jurors_enrolled()


def test_only_an_active_esp_enrolls_with_the_exact_bond(cw):
    world = cw.world
    with pytest.raises(errors.CommitteeNotEsp):
        cw.committee(world.buyer).enroll()
    juror = cw.jurors[0]
    with pytest.raises(errors.CommitteeWrongValue):
        cw.committee(juror)._send(cw.committee(juror).contract.functions.enroll(), value=1)
    cw.committee(juror).enroll()
    with pytest.raises(errors.CommitteeAlreadyEnrolled):
        cw.committee(juror).enroll()
    with pytest.raises(errors.CommitteeWrongValue):
        cw.committee(world.buyer)._send(
            cw.committee(world.buyer).contract.functions.requestReview(
                juror.address, 1, 2, b"\7" * 32, b"\x08" * 32, NO_OPENING, NO_OPENING
            ),
            value=1,
        )


def test_a_deregistered_esp_is_not_drawn(cw):
    world = cw.world
    jurors = cw.enroll(6)
    world.esps(jurors[0]).deregister()
    committee = cw.committee(world.buyer)
    key = cw.synthetic(9)
    drawn = committee.review(key).jurors
    assert jurors[0].address not in drawn and len(set(drawn)) == 5
    with pytest.raises(errors.CommitteeTooSmall) as exc:  # the five others are busy
        cw.synthetic(11)
    assert (exc.value.enrolled, exc.value.needed) == (0, 5)


def test_batch_registry_resolve_goes_through_the_committee(cw):
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
        opening_a=pa.opening(ia),  # batch items: their leaves and proofs
        opening_b=pb.opening(ib),
    )
    cw.draw(key, by=world.attacker)
    batch_contest(world, original, copy, pb)
    args = {
        "detail_a": details()["base"],
        "opening_a": pa.opening(ia),
        "detail_b": details()["near"],
        "opening_b": pb.opening(ib),
    }
    client = BatchRegistryClient(world.deployment, world.tx(world.buyer))
    with pytest.raises(errors.CommitteeReviewPending):
        client.resolve(original, copy, **args)
    cw.vote(key, [False, False, False, False, True])
    assert client.resolve(original, copy, **args) is False  # the rule would have matched
    assert client.status(copy) is TokenStatus.ACTIVE


def test_batch_court_resolve_goes_through_the_committee(cw):
    world = cw.world
    cw.enroll(5)
    original, pa, copy = court_pair(world, copy_detail=details()["far"])
    court_challenge(world, original, pa, copy)
    key = cw.committee(world.attacker).request_review(
        collection=world.deployment.batch_court.address,
        original=original,
        duplicate=copy,
        hash_a=keccak(details()["base"]),
        hash_b=keccak(details()["far"]),
        opening_a=pa.opening(original & 0xFFFFFFFF),  # the copy's record proof: from the chain
    )
    assert key == review_key(
        world.deployment.batch_court.address,
        original,
        copy,
        keccak(details()["base"]),
        keccak(details()["far"]),
    )
    cw.draw(key, by=world.attacker)
    court(world, world.attacker).contest(original, copy)
    with pytest.raises(errors.CommitteeReviewPending):
        court_resolve(world, original, pa, copy)
    cw.vote(key, [True, True, True, SILENT, False])
    assert court_resolve(world, original, pa, copy) is True  # the rule would not have matched
    assert world.registry(world.buyer).record(copy).status is TokenStatus.REVOKED


def test_the_deployment_wires_the_committee_and_keeps_every_other_address(cw):
    """The committee takes the DetailVerifier's old nonce (2) and the rule comes last (7), so the
    contracts at nonces 0, 1 and 3-6 keep the addresses they had before the committee."""
    from ledger.deploy import _create_address

    world = cw.world
    manifest, deployer = world.deployment.manifest, world.deployer.address
    order = ["HashTimeLock", "EspRegistry", "CommitteeVerifier", "Registry", "ReputationView"]
    order += ["BatchRegistry", "BatchCourt", "DetailVerifier"]
    for nonce, name in enumerate(order):
        assert manifest.address(name).lower() == _create_address(deployer, nonce).lower(), name
    committee = cw.committee()
    assert committee.contract.functions.rule().call() == manifest.address("DetailVerifier")
    forums = ("Registry", "BatchRegistry", "BatchCourt")  # predicted by nonce, then checked
    assert committee.forums() == tuple(manifest.address(name) for name in forums)
    registry = world.deployment.registry
    assert registry.functions.detailVerifier().call() == committee.address
    p = world.params
    assert astuple(committee.params()) == (
        p.committee_jurors,
        p.juror_bond,
        p.review_fee,
        p.review_commit_blocks,
        p.review_reveal_blocks,
    )


def test_the_draw_comes_after_the_draw_block_once_and_before_any_vote(cw):
    world = cw.world
    cw.enroll(5)
    committee = cw.committee(world.buyer)
    a, b = details()["base"], details()["far"]
    original, duplicate = cw.dispute(20, detail_pair=(a, b))
    key = committee.request_review(
        collection=world.deployment.registry.address,
        original=original,
        duplicate=duplicate,
        hash_a=keccak(a),
        hash_b=keccak(b),
    )
    review = committee.review(key)
    assert review.draw_block == world.chain.w3.eth.block_number + 1 and not review.drawn
    assert committee.parse_request(committee.last_receipt) == (key, review.draw_block)
    with pytest.raises(errors.CommitteeReviewPending) as exc:  # requested, not drawn: pending
        committee.matches(a, b)
    assert (exc.value.key, exc.value.revealDeadline) == (key, 0)
    with pytest.raises(errors.CommitteeDrawTooEarly) as too_early:
        committee.draw(key)
    assert too_early.value.drawBlock == review.draw_block
    for refused in (
        lambda: committee.commit(key, True, keccak(b"salt")),
        lambda: committee.reveal(key, True, keccak(b"salt")),
        lambda: committee.settle(key),
    ):
        with pytest.raises(errors.CommitteeNotDrawn):
            refused()
    with pytest.raises(errors.CommitteeNoReview):
        committee.draw(keccak(b"no such pair"))
    cw.draw(key)
    drawn = committee.review(key)
    assert len(set(drawn.jurors)) == 5 and drawn.drawn
    now = world.chain.w3.eth.block_number
    assert drawn.commit_deadline == now + world.params.review_commit_blocks
    with pytest.raises(errors.CommitteeAlreadyDrawn):
        committee.draw(key)
    cw.vote(key, [True, True, True, False, False])
    world.chain.mine(1)  # a read runs in the latest block: past the reveal deadline
    assert committee.matches(a, b) is True  # the rule says no: the committee decided


def test_a_review_the_busy_jurors_cannot_serve_waits_for_them(cw):
    """Two requests pass while five jurors are enrolled; the first draw takes all five. The
    second review is not cancelled (that handed the pair to the rule, and a squatter could
    occupy the pool to have it so: test_redteam2_committee): its draw re-arms (the pool's free
    jurors changed after its draw block), then reverts ``CommitteeTooSmall`` while they are
    busy, and ``matches`` reverts ``CommitteeReviewPending`` for its pair meanwhile. Once the
    first review is settled its jurors are free: the draw re-arms again, then seats them."""
    world = cw.world
    cw.enroll(5)
    a, b = details()["base"], details()["near"]
    first = cw.synthetic(30, draw=False)
    second = cw.synthetic(32, by=world.attacker, detail_pair=(a, b), draw=False)
    cw.draw(first)
    outcome = cw.committee(world.producer).draw(second)
    assert outcome.outcome == "rearmed"  # the first draw changed who is free
    with pytest.raises(errors.CommitteeTooSmall) as exc:
        cw.draw(second, by=world.producer)
    assert (exc.value.enrolled, exc.value.needed) == (0, 5)  # none free of five
    review = cw.committee().review(second)
    assert (
        not (review.cancelled or review.drawn) and cw.committee().owed(world.attacker.address) == 0
    )
    with pytest.raises(errors.CommitteeReviewPending):
        cw.committee().matches(a, b)
    cw.vote(first, [True] * 5)
    cw.committee(world.buyer).settle(first)
    assert cw.committee(world.producer).draw(second).outcome == "rearmed"  # freed since
    cw.draw(second, by=world.producer)
    assert len(cw.committee().review(second).jurors) == 5
    with pytest.raises(errors.CommitteeReviewExists):  # one review per dispute
        cw.request(*_dispute_of(cw, second), by=world.buyer, draw=False)


def _dispute_of(cw, key: bytes) -> tuple[int, int]:
    review = cw.committee().review(key)
    return review.original, review.duplicate


def test_a_draw_with_too_few_active_jurors_enrolled_cancels_and_the_rule_decides(cw):
    """A request passes while five jurors are enrolled; one leaves before the draw (the draw
    re-arms: the pool changed), and four cannot seat five: the draw cancels the review (fee owed
    back), and the rule answers that pair from then on. The dispute stays reviewed (no second
    request)."""
    world = cw.world
    p = world.params
    jurors = cw.enroll(5)
    a, b = details()["base"], details()["near"]
    key = cw.synthetic(32, by=world.attacker, detail_pair=(a, b), draw=False)
    cw.committee(jurors[0]).leave()
    assert cw.committee(world.producer).draw(key).outcome == "rearmed"
    before = world.balance(cw.committee().address)
    cw.draw(key, by=world.producer)
    review = cw.committee().review(key)
    assert review.cancelled and not review.drawn and review.jurors == ()
    assert cw.committee().owed(world.attacker.address) == p.review_fee
    assert world.balance(cw.committee().address) == before
    assert cw.committee().matches(a, b) is True  # the rule's answer, at once
    with pytest.raises(errors.CommitteeAlreadyDrawn):
        cw.committee(world.buyer).draw(key)
    with pytest.raises(errors.CommitteeNotDrawn):
        cw.committee(world.buyer).settle(key)
    with pytest.raises(errors.CommitteeReviewExists):
        cw.request(*_dispute_of(cw, key), by=world.buyer, draw=False)
    cw.committee(world.attacker).claim()
    assert cw.committee().owed(world.attacker.address) == 0


def test_a_draw_after_256_blocks_rearms_on_a_fresh_block(cw):
    world = cw.world
    chain = world.chain
    cw.enroll(5)
    key = cw.synthetic(40, draw=False)
    draw_block = cw.committee().review(key).draw_block
    chain.mine(draw_block + 257 - chain.w3.eth.block_number)  # blockhash(drawBlock) is now 0
    outcome = cw.committee(world.buyer).draw(key)
    assert outcome.outcome == "rearmed"
    review = cw.committee().review(key)
    assert outcome.draw_block == review.draw_block == chain.w3.eth.block_number + 1
    assert review.jurors == () and not review.drawn
    drawn_in = cw.committee().contract.functions.drawnIn
    assert all(drawn_in(j.address).call() == b"\0" * 32 for j in cw.jurors)
    cw.draw(key)
    assert len(cw.committee().review(key).jurors) == 5


def test_an_accused_that_never_draws_cannot_stall_its_dispute(cw):
    """The accused requests the review (so `resolve` waits) and never draws: the challenger
    draws, the committee votes, and the dispute resolves."""
    world = cw.world
    cw.enroll(5)
    original, copy = cw.copy_pair(detail="near")
    challenger, accused = world.registry(world.producer), world.registry(world.attacker)
    challenger.challenge(original, copy)
    key = cw.request(original, copy, by=world.attacker, draw=False)
    accused.contest(original, copy)
    with pytest.raises(errors.CommitteeReviewPending) as exc:
        challenger.resolve(original, copy)
    assert exc.value.revealDeadline == 0
    cw.draw(key, by=world.producer)
    cw.vote(key, [True, True, True, True, SILENT])
    assert challenger.resolve(original, copy) is True
    assert challenger.record(copy).status is TokenStatus.REVOKED


def _ask(cw: CommitteeWorld, original: int, duplicate: int, **kw) -> bytes:
    """The accused asks a review of the Registry pair with the true hashes (unless given)."""
    world = cw.world
    reg = world.registry(world.attacker)
    args = {
        "collection": reg.address,
        "original": original,
        "duplicate": duplicate,
        "hash_a": keccak(reg.registered(original).detail),
        "hash_b": keccak(reg.registered(duplicate).detail),
    }
    return cw.committee(world.attacker).request_review(**(args | kw))


def test_a_review_needs_an_open_dispute_with_its_true_hashes(cw):
    """Refused: a collection that is none of the three forums, a pair not challenged (both ways
    round), hashes other than the records' (or a record proof forged to carry them), a dispute
    Open past its window (only `finalize` left), finalized (Upheld), settled, or resolved."""
    world = cw.world
    cw.enroll(5)
    a, b, _ = _contested(cw, detail="far", review=False)
    assert world.registry(world.buyer).resolve(a, b) is False
    with pytest.raises(errors.CommitteeNoOpenDispute):  # resolved without a review (Rejected)
        _ask(cw, a, b)
    original, copy = cw.copy_pair(detail="near")
    with pytest.raises(errors.CommitteeNoOpenDispute):  # not challenged yet
        _ask(cw, original, copy)
    world.registry(world.producer).challenge(original, copy)
    with pytest.raises(errors.CommitteeUnknownForum):
        _ask(cw, original, copy, collection=world.deployment.reputation_view.address)
    with pytest.raises(errors.CommitteeNoOpenDispute):  # the other way round: no such dispute
        _ask(cw, copy, original)
    far = keccak(details()["far"])
    with pytest.raises(errors.CommitteeBadOpening) as exc:  # the true proof, another hash
        _ask(cw, original, copy, hash_b=far)
    assert exc.value.tokenId == copy
    forged = replace(world.registry(world.buyer).registered(copy).proof, detail_hash=far)
    with pytest.raises(errors.CommitteeBadOpening):  # a proof that names it: not the record's
        _ask(cw, original, copy, hash_b=far, opening_b=ItemOpening(record=forged))
    world.chain.mine(world.params.dispute_window_blocks + 1)
    with pytest.raises(errors.CommitteeNoOpenDispute):  # Open, its window passed
        _ask(cw, original, copy)
    assert world.registry(world.buyer).finalize(original, copy) is True
    with pytest.raises(errors.CommitteeNoOpenDispute):  # Upheld
        _ask(cw, original, copy)
    world.chain.mine(world.params.reward_hold_blocks + 1)
    world.registry(world.buyer).settle(original, copy)
    assert world.registry(world.buyer).dispute(original, copy).state is DisputeState.SETTLED
    with pytest.raises(errors.CommitteeNoOpenDispute):  # Settled
        _ask(cw, original, copy)
    assert cw.committee().contract.functions.drawnIn(cw.jurors[0].address).call() == bytes(32)


def test_a_batch_review_needs_the_items_true_openings(cw):
    """At the BatchRegistry both sides are batch items: a wrong hash, or an opening of another
    item (its true leaf and proof at another index), is refused; the true openings pass."""
    world = cw.world
    cw.enroll(5)
    original, pa, copy, pb = batch_pair(world, copy_detail=details()["near"])
    batch_challenge(world, original, pa, copy, pb)
    ia, ib = original & 0xFFFFFFFF, copy & 0xFFFFFFFF
    committee = cw.committee(world.attacker)
    args = {
        "collection": world.deployment.batch_registry.address,
        "original": original,
        "duplicate": copy,
        "hash_a": keccak(details()["base"]),
        "hash_b": keccak(details()["near"]),
        "opening_a": pa.opening(ia),
        "opening_b": pb.opening(ib),
    }
    with pytest.raises(errors.CommitteeBadOpening) as exc:
        committee.request_review(**(args | {"hash_b": keccak(details()["far"])}))
    assert exc.value.tokenId == copy
    other = next(i for i, it in enumerate(pa.items) if it.detail == details()["far"])
    with pytest.raises(errors.CommitteeBadOpening) as exc:  # another item's (far) opening
        committee.request_review(
            **(args | {"hash_a": keccak(details()["far"]), "opening_a": pa.opening(other)})
        )
    assert exc.value.tokenId == original
    with pytest.raises(errors.CommitteeBadOpening):  # a single token's record: not an item
        committee.request_review(**(args | {"opening_b": ItemOpening()}))
    key = committee.request_review(**args)
    assert key == review_key(
        args["collection"], args["original"], args["duplicate"], args["hash_a"], args["hash_b"]
    )


def test_a_deployment_whose_forums_moved_is_refused(embedded_chain, monkeypatch):
    """The committee is given the forums' addresses predicted by nonce; a transaction from the
    deployer slipped in before it moves every later contract, and `deploy` refuses the result
    (the committee would otherwise review nothing, or another contract's disputes)."""
    from tests.contracts.committee_kit import _account, _fund

    deploy_module = importlib.import_module("ledger.deploy")  # `ledger.deploy` is the function

    deployer = _account("moved forums deployer")
    _fund(embedded_chain, embedded_chain.dev_accounts()[9], deployer.address)
    real = deploy_module.deploy_contract

    def interleaved(tx, name, *args, **kw):
        if name == "CommitteeVerifier":  # another transaction of the deployer's, first
            w3 = embedded_chain.w3
            sent = tx.account.sign_transaction(
                {
                    "to": deployer.address,
                    "value": 0,
                    "gas": 21_000,
                    "chainId": embedded_chain.chain_id,
                    "nonce": w3.eth.get_transaction_count(deployer.address, "pending"),
                    "maxPriorityFeePerGas": 1,
                    "maxFeePerGas": 2 * int(w3.eth.get_block("latest")["baseFeePerGas"]) + 1,
                }
            )
            w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(sent.raw_transaction))
        return real(tx, name, *args, **kw)

    monkeypatch.setattr(deploy_module, "deploy_contract", interleaved)
    with pytest.raises(errors.DeploymentError, match=r"^Registry deployed at .* redeploy$"):
        deploy_module.deploy(embedded_chain, deployer, TEST_PARAMS)
