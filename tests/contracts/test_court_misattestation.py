"""The BatchCourt's mis-attestation claim (``claimMisattested`` / ``finalizeMisattested``): the
guards around the fraud proof that makes a plagiarist's own ESP answer for a copy attested with
another image's values (the attack itself: tests/contracts/test_redteam2_attestation.py).

Each test is an attack on the new guard: an honest record convicted, a claim against a token
the court cannot decide, a claimant farming a slash from its own ESP, a double claim, an
attesting ESP judging its own record. Runs on the default chain backend (anvil under CI)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from PIL import Image

from ledger import errors
from ledger.clients._base import Call
from ledger.clients.committee import record_review_key
from ledger.clients.registry import DisputeState, TokenStatus
from services.provenance import detail_descriptor, fingerprint
from tests.contracts.committee_kit import SILENT, CommitteeWorld, committee_world
from tests.contracts.helpers import register_esp
from tests.contracts.misattestation_kit import (
    Images,
    camera,
    claim,
    copy_of,
    court,
    court_balance,
    finalize,
    honest_votes,
    png,
    record_of,
    register_pixels,
    unrelated,
)


@pytest.fixture
def cw(chain):
    yield from committee_world(chain)


def _honest(cw: CommitteeWorld) -> tuple[int, Image.Image]:
    """The producer's image registered with its own values by its honest ESP."""
    world = cw.world
    register_esp(world)
    image = camera()
    token = register_pixels(
        world,
        world.producer,
        image,
        fingerprint=fingerprint(image).to_bytes32(),
        detail=detail_descriptor(image),
    )
    return token, image


def _misattested(cw: CommitteeWorld) -> tuple[int, Image.Image, LocalAccount]:
    """The attacker's copy attested by its own ESP with an unrelated image's values."""
    world = cw.world
    esp = register_esp(world, world.accounts[8])
    copy, other = copy_of(camera()), unrelated()
    token = register_pixels(
        world,
        world.attacker,
        copy,
        esp=esp,
        fingerprint=fingerprint(other).to_bytes32(),
        detail=detail_descriptor(other),
    )
    return token, copy, esp


def test_an_honest_record_is_not_convicted_and_the_claimant_pays_the_owner(cw):
    """A griefer claims an honest record: the jurors recompute the image's values, find the
    attested ones within the rules and vote "no"; the claim is Rejected, the token stays, its
    ESP keeps its stake and the claimant's deposit goes to the token's owner."""
    world = cw.world
    token, image = _honest(cw)
    cw.enroll()
    esps = world.esps(world.deployer)
    stake = esps.esp_info(world.esp.address).stake
    held = court_balance(cw.world)
    key = claim(cw, token, world.attacker)
    votes = honest_votes(cw, key, token, Images({token: png(image)}))
    assert votes == [False] * 5
    cw.vote(key, votes)
    owner_before = world.balance(world.producer.address)
    assert finalize(cw, token, world.buyer) is DisputeState.REJECTED
    assert (
        world.balance(world.producer.address) - owner_before == court(world, world.buyer).deposit()
    )
    assert court_balance(cw.world) == held  # the court keeps nothing of a decided claim
    assert world.registry(world.deployer).record(token).status is TokenStatus.ACTIVE
    assert esps.esp_info(world.esp.address).stake == stake
    assert esps.challenges_lost(world.esp.address) == 0


def test_a_claim_the_court_cannot_decide_reverts_with_a_named_error(cw):
    """Unknown token, a record proof that is not the token's, a deposit without the review
    fee, a wrong fee, a revoked token: each refused by name before any Ether is held."""
    world = cw.world
    token, copy_image, _ = _misattested(cw)
    cw.enroll()
    c = court(world, world.producer)
    fee = cw.committee().params().review_fee
    record = record_of(world, token)
    with pytest.raises(errors.CourtUnknownToken):
        c.claim_misattested(token ^ 1, record, review_fee=fee)
    forged = replace(record, fingerprint=keccak(b"not the record"))
    with pytest.raises(errors.CourtBadProof):
        c.claim_misattested(token, forged, review_fee=fee)
    with pytest.raises(errors.CourtWrongValue):
        c.claim_misattested(token, record, review_fee=0)
    with pytest.raises(errors.CommitteeWrongValue):
        c.claim_misattested(token, record, review_fee=fee - 1)
    # an upheld claim revokes it: a second claim is refused by the token's status
    key = claim(cw, token, world.producer)
    cw.vote(key, honest_votes(cw, key, token, Images({token: png(copy_image)})))
    assert finalize(cw, token, world.buyer) is DisputeState.UPHELD
    with pytest.raises(errors.CourtTokenRevoked):
        c.claim_misattested(token, record, review_fee=fee)
    with pytest.raises(errors.CourtDisputeState):
        finalize(cw, token, world.buyer)  # decided once


def test_finalize_waits_for_the_review_and_checks_the_record(cw):
    """Before the review's reveal deadline the claim cannot be decided (a claimant finalizing
    at once would decide without a verdict); a forged record proof is refused."""
    world = cw.world
    token, _, _ = _misattested(cw)
    cw.enroll()
    key = claim(cw, token, world.producer, draw=False)
    with pytest.raises(errors.CourtDisputeWindow):  # not drawn yet
        finalize(cw, token, world.buyer)
    cw.draw(key)
    with pytest.raises(errors.CourtDisputeWindow):  # drawn, before the reveal deadline
        finalize(cw, token, world.buyer)
    record = record_of(world, token)
    forged = replace(record, esp=world.buyer.address)
    cw.vote(key, [True] * 5)
    with pytest.raises(errors.CourtBadProof):  # a record naming another ESP to slash
        court(world, world.buyer).finalize_misattested(token, forged)


@pytest.mark.both_chains
def test_a_plagiarist_cannot_farm_a_slash_from_its_own_esp(cw):
    """The plagiarist claims against its own copy, attested by its own ESP: upheld, but the
    ESP's slash is burned and the claimant gets back only its deposit, the challenge reward and
    the review fee it paid the jurors (out of the copy's own bond, never more than it): the
    plagiarist loses bond + slash - reward - refund (the slash, at the defaults)."""
    world = cw.world
    token, copy_image, esp = _misattested(cw)
    cw.enroll()
    esps = world.esps(world.deployer)
    stake = esps.esp_info(esp.address).stake
    held = court_balance(cw.world)
    key = claim(cw, token, world.attacker)
    cw.vote(key, honest_votes(cw, key, token, Images({token: png(copy_image)})))
    before = world.balance(world.attacker.address)
    assert finalize(cw, token, world.buyer) is DisputeState.UPHELD
    registry = world.registry(world.deployer)
    params = registry.params()
    fee = cw.committee().params().review_fee
    gained = world.balance(world.attacker.address) - before
    assert gained == params.challenge_deposit + min(params.challenge_reward + fee, params.bond)
    assert gained - params.challenge_deposit - fee <= params.challenge_reward  # the fee, no more
    slash = min(stake, world.params.esp_slash_amount)
    assert esps.esp_info(esp.address).stake == stake - slash
    assert esps.compensation_of(world.attacker.address) == 0
    assert esps.compensation_of(esp.address) == 0
    assert court_balance(cw.world) == held  # the bond came and went (paid out, the rest burned)


def test_a_double_claim_is_refused_while_open_and_a_failed_one_does_not_immunise(cw):
    """A second claim while one is open is refused (`CourtDisputeExists`). A plagiarist's own
    claim that fails (its bytes withheld: the jurors vote "no") does not make its copy
    unclaimable: the victim's next claim is a new review round and revokes it."""
    world = cw.world
    token, copy_image, _ = _misattested(cw)
    cw.enroll(10)
    key = claim(cw, token, world.attacker)
    fee = cw.committee().params().review_fee
    with pytest.raises(errors.CourtDisputeExists):
        court(world, world.producer).claim_misattested(
            token, record_of(world, token), review_fee=fee
        )
    # the plagiarist withholds the bytes: honest jurors have no proof and vote "no"
    assert honest_votes(cw, key, token, Images({})) == [False] * 5
    cw.vote(key, [False] * 5)
    assert finalize(cw, token, world.buyer) is DisputeState.REJECTED
    c = court(world, world.producer)
    assert c.misattestation(token).round == 1
    # the victim publishes the bytes with its claim: round 2, its own review
    key2 = claim(cw, token, world.producer)
    assert key2 != key
    record = record_of(world, token)
    assert key2 == record_review_key(c.address, token, record.fingerprint, record.detail_hash, 2)
    assert c.misattestation(token).round == 2
    cw.vote(key2, honest_votes(cw, key2, token, Images({token: png(copy_image)})))
    assert finalize(cw, token, world.buyer) is DisputeState.UPHELD
    assert world.registry(world.deployer).record(token).status is TokenStatus.REVOKED


def test_without_a_quorum_the_claim_is_void_and_the_claimant_refunded(cw):
    """Most jurors silent: no verdict; the deposit comes back from the court and the fee is owed
    back to the claimant at the committee (its requester), so nobody decides by silence."""
    world = cw.world
    token, _, _ = _misattested(cw)
    cw.enroll()
    held = court_balance(cw.world)
    key = claim(cw, token, world.producer)
    assert court_balance(cw.world) == held + court(world, world.buyer).deposit()
    cw.vote(key, [True, True, SILENT, SILENT, SILENT])
    committee = cw.committee(world.producer)
    before = world.balance(world.producer.address)
    assert finalize(cw, token, world.buyer) is DisputeState.VOID
    assert world.balance(world.producer.address) - before == court(world, world.buyer).deposit()
    assert court_balance(cw.world) == held
    committee.settle(key)
    assert committee.owed(world.producer.address) == committee.params().review_fee
    assert world.registry(world.deployer).record(token).status is TokenStatus.ACTIVE


def test_the_attesting_esp_is_never_drawn_and_only_the_court_asks_a_record_review(cw):
    """The accused ESP enrolled as a juror is a party: never drawn for its own record. And no
    one but the court requests a record review (made-up ones would keep the jurors busy)."""
    world = cw.world
    token, _, esp = _misattested(cw)
    jurors = cw.enroll(5)
    cw.committee(esp).enroll()  # the pool is the five and the accused ESP
    key = claim(cw, token, world.producer)
    drawn = {j.lower() for j in cw.committee().review(key).jurors}
    assert esp.address.lower() not in drawn
    assert drawn == {j.address.lower() for j in jurors}
    committee = cw.committee(world.producer)
    fn = committee.contract.functions.requestRecordReview(
        token, record_of(world, token).as_tuple(), world.producer.address, 7
    )
    with pytest.raises(errors.CommitteeUnknownForum):
        committee._send(Call(fn, committee.params().review_fee))
