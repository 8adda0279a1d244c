"""A juror at the batch forums (the BatchRegistry, the BatchCourt): the squatter's review of a
victim whose image is not published, decided by the detail rule on the published descriptors
(services/provenance/juror.py, jury.py; docs/committee-jurors.md).

The attack: a squatter challenges a batch item (or, at the court, a single token) that the detail
rule would not match, requests the committee's review itself, and shows its own image; the victim
never uploaded its image. Without the victim's descriptor the jurors voted "yes" (the accused
"hides" its image) and the victim lost a token the chain's own rule keeps. A batch item's
descriptor is published by its manifest (the API) or on chain (``ItemOpened``, when its owner
contests at the BatchRegistry), and a shown image's descriptor is the image's own.
"""

from __future__ import annotations

import io

import pytest
from eth_utils import keccak
from PIL import Image

from ledger.clients.batch_registry import BatchRegistryClient
from services.provenance import detail_descriptor, detail_matches
from services.provenance.juror import Review, judge
from services.provenance.jury import JurorDuty
from tests.contracts.attack_kit import proof
from tests.contracts.batch_kit import random_fingerprints, register_batch, tid
from tests.contracts.committee_kit import CommitteeWorld, committee_world
from tests.contracts.helpers import BASE_FP, NEAR_FP, copier_esp, register_esp, register_image
from tests.services.provenance.test_stage3 import _page, _semaphore

BATCH = "0x" + "33" * 20
ITEM = (7 << 32) | 2  # a batch item's id: batch 7, index 2
SQUAT = (8 << 32) | 0


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def unrelated() -> tuple[Image.Image, Image.Image]:
    """The squatter's drawing and the victim's, which the detail rule does not match."""
    squatter, victim = _page("disc"), _semaphore(0, 30)
    assert not detail_matches(detail_descriptor(squatter), detail_descriptor(victim))
    return squatter, victim


def _review(a: Image.Image, b: Image.Image) -> Review:
    """A review of two batch items (ids that are not content hashes)."""
    return Review(
        key=keccak(b"batch review"),
        collection=BATCH,
        original=SQUAT,
        duplicate=ITEM,
        detail_hash_a=keccak(detail_descriptor(a)),
        detail_hash_b=keccak(detail_descriptor(b)),
        content_ids=False,
    )


def _source(table: dict[int, bytes | None]):
    return lambda collection, token_id: table.get(token_id)


def test_a_squatter_does_not_win_a_batch_item_whose_image_is_not_published(unrelated) -> None:
    """The squatter shows its image (not its manifest); the victim's descriptor is published
    (its manifest, or its contest's ``ItemOpened``) but not its image: the rule decides, "no".
    Before the fix the jurors had no descriptor at the batch forums and voted "yes"; with the
    victim's alone they still did, as the rule needed both descriptors published."""
    squatter, victim = unrelated
    review = _review(squatter, victim)
    images = _source({SQUAT: _png(squatter)})
    victims = _source({ITEM: detail_descriptor(victim)})
    verdict = judge(review, images, victims)
    assert verdict.vote is False and "detail rule" in verdict.reason
    assert not verdict.burden


def test_a_challenger_does_not_win_by_withholding_its_manifest(unrelated) -> None:
    """Neither the squatter's image nor its descriptor is published: "no" whatever the accused
    shows (the accuser's burden); its image alone is enough to run the rule."""
    squatter, victim = unrelated
    review = _review(squatter, victim)
    nothing = _source({})
    assert judge(review, nothing, _source({ITEM: detail_descriptor(victim)})).vote is False
    verdict = judge(review, _source({ITEM: _png(victim)}), nothing)
    assert verdict.vote is False and verdict.burden
    # a look-alike copy that the rule matches: the copier cannot hide behind either side's
    # missing image once both descriptors are known
    a, b = _semaphore(0, 30), _semaphore(180, 30)
    assert detail_matches(detail_descriptor(a), detail_descriptor(b))
    review = _review(a, b)
    assert judge(review, _source({SQUAT: _png(a)}), _source({ITEM: detail_descriptor(b)})).vote
    assert judge(review, _source({ITEM: _png(b)}), _source({SQUAT: detail_descriptor(a)})).vote


def test_an_accused_that_publishes_nothing_still_loses_but_the_vote_says_so(unrelated) -> None:
    """The accused shows neither its image nor its descriptor: "yes", marked as a burden vote
    (the duty waits a quarter of the commit phase for the descriptor before committing it)."""
    squatter, victim = unrelated
    review = _review(squatter, victim)
    verdict = judge(review, _source({SQUAT: _png(squatter)}), _source({}))
    assert verdict.vote is True and verdict.burden and "hides" in verdict.reason
    # a descriptor that is not the review's is not believed
    wrong = _source({ITEM: detail_descriptor(squatter)})
    assert judge(review, _source({SQUAT: _png(squatter)}), wrong).vote is True


# -- the duty on chain: the BatchRegistry's ``ItemOpened`` and the published manifest ----------


@pytest.fixture
def committee(embedded_chain) -> CommitteeWorld:
    yield from committee_world(embedded_chain)


def _squatted(cw: CommitteeWorld, squatter: Image.Image, victim: Image.Image):
    """The squatter's single token challenges the victim's batch item (``challengeWithSingle``)
    and requests the review itself. Returns (squat, item, the item's detail, its opening, key)."""
    world = cw.world
    register_esp(world)
    squat = register_image(
        world,
        world.attacker,
        esp=copier_esp(world),
        fingerprint=BASE_FP,
        detail=detail_descriptor(squatter),
    )
    detail = detail_descriptor(victim)
    bid, pb = register_batch(
        world,
        world.producer,
        fingerprints=[*random_fingerprints(2, seed=7), NEAR_FP],
        item_details=[detail] * 3,
        esp=world.esp,
    )
    index = pb.fingerprints.index(NEAR_FP)
    item = tid(bid, index)
    attacker = BatchRegistryClient(world.deployment, world.tx(world.attacker))
    attacker.challenge_with_single(
        squat, proof(world, squat), item, pb.fingerprints[index], pb.fp_proof(index)
    )
    key = cw.committee(world.attacker).request_review(
        collection=attacker.address,
        original=squat,
        duplicate=item,
        hash_a=keccak(world.registry(world.attacker).registered(squat).detail),
        hash_b=keccak(detail),
        opening_b=pb.opening(index),  # a batch item's side is proven by its opening
    )
    return squat, item, detail, pb.opening(index), key


def _duties(cw: CommitteeWorld, jurors, images, tmp_path, item_details=None) -> list[JurorDuty]:
    return [
        JurorDuty(
            cw.world.deployment,
            cw.world.tx(juror),
            images,
            state_path=tmp_path / f"{juror.address}.json",
            item_details=item_details,
        )
        for juror in jurors
    ]


def _votes(duties: list[JurorDuty], key: bytes) -> list[bool]:
    entries = [d.reviews.get("0x" + key.hex(), {}) for d in duties]
    return [bool(e["vote"]) for e in entries if e.get("stage") == "committed"]


def test_jurors_read_the_contested_items_descriptor_from_the_chain(committee, unrelated, tmp_path):
    """The victim contests (its item opened on chain, ``ItemOpened``) after the squatter drew the
    jurors; the jurors wait for it, then vote the rule: "no". They used to vote "yes"."""
    world = committee.world
    squatter, victim = unrelated
    jurors = committee.enroll(5)
    squat, item, detail, opening, key = _squatted(committee, squatter, victim)
    committee.draw(key, by=world.attacker)
    duties = _duties(committee, jurors, _source({squat: _png(squatter)}), tmp_path)
    log = [line for d in duties for line in d.step()]
    assert any("waits" in line for line in log), log  # a burden vote waits for the descriptor
    assert _votes(duties, key) == []
    BatchRegistryClient(world.deployment, world.tx(world.producer)).contest(
        squat, item, detail=detail, opening=opening
    )
    log = [line for d in duties for line in d.step()]
    # the descriptor is known now, the victim's image still not: they wait out the quarter for it
    assert all("for an image" in line for line in log), log
    world.chain.mine(committee.committee().params().commit_blocks // 4)
    log = [line for d in duties for line in d.step()]
    assert _votes(duties, key) == [False] * 5, log


def test_jurors_read_a_published_manifest_and_commit_a_burden_vote_late(
    committee, unrelated, tmp_path
):
    """With the victim's manifest published (its image not) the jurors wait a quarter of the
    commit phase for the image, then vote the rule; with nothing published they commit the
    burden vote once that quarter has passed."""
    world = committee.world
    squatter, victim = unrelated
    jurors = committee.enroll(5)
    squat, item, detail, _, key = _squatted(committee, squatter, victim)
    committee.draw(key, by=world.attacker)
    images = _source({squat: _png(squatter)})
    published = _duties(committee, jurors[:1], images, tmp_path, {item: detail}.get)
    assert any("waits" in line and "an image" in line for line in published[0].step())
    others = _duties(committee, jurors[1:], images, tmp_path)
    log = [line for d in others for line in d.step()]
    assert all("waits" in line for line in log) and len(log) == 4, log
    assert _votes(others, key) == []
    world.chain.mine(committee.committee().params().commit_blocks // 4)
    assert any("committed (no" in line for line in published[0].step())
    for duty in others:
        duty.step()
    assert _votes(others, key) == [True] * 4


def test_a_squatter_that_draws_at_once_does_not_get_the_detail_rule_instead_of_stage_3(
    committee, unrelated, tmp_path
):
    """Red team 2 (C4's note): the victim's descriptor is published but its image not yet
    uploaded; a squatter draws the jurors at once. Before, they committed at once on the detail
    rule (4.3e-4 false matches a pair against stage 3's 3.6e-5): a squatter that draws first
    chose the coarser rule. Now a vote the detail rule gives for a missing image waits the first
    quarter of the commit phase; the image uploaded meanwhile, stage 3 decides."""
    world = committee.world
    squatter, victim = unrelated
    jurors = committee.enroll(5)
    squat, item, detail, _, key = _squatted(committee, squatter, victim)
    committee.draw(key, by=world.attacker)
    table: dict[int, bytes | None] = {squat: _png(squatter)}
    duties = _duties(committee, jurors, _source(table), tmp_path, {item: detail}.get)
    log = [line for d in duties for line in d.step()]
    assert all("waits" in line and "an image" in line for line in log) and len(log) == 5, log
    assert _votes(duties, key) == []
    table[item] = _png(victim)  # the victim uploads its image within the wait
    log = [line for d in duties for line in d.step()]
    assert _votes(duties, key) == [False] * 5, log
    assert all("stage 3" in d.reviews["0x" + key.hex()]["reason"] for d in duties)
