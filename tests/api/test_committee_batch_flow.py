"""The squatter's review at the BatchRegistry, end to end on the embedded chain behind the API
(docs/committee-jurors.md, "What a juror votes").

A squatter's earlier single token (its image published at the API) challenges the producer's
batch item, whose compact fingerprint is admissible against it but whose detail the rule does not
match, requests the committee's review itself and draws the jurors at once. The producer never
uploaded its image, nor its manifest to the API (it keeps its manifest file). Five ESP jurors run
their rounds: the victim's descriptor is unknown, so they wait (a burden vote), the producer's
defender contests (the contest opens its item on chain, ``ItemOpened``), the jurors read that
descriptor and vote the rule, "no"; the committee answers "no" for the pair and the producer
keeps its item. Before the fix they voted "yes" in their first round (the accused "hid" its
image), and the squatter's ``resolve`` would have revoked the item.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from eth_utils import keccak

from ledger import TokenStatus
from ledger.clients.batch_registry import BatchRegistryClient
from ledger.clients.committee import review_key
from ledger.clients.registry import DisputeState, RegistryClient
from services.batch.layout import BatchItem, BatchLayout
from services.batch.manifest import BatchManifest
from services.market_client import MarketClient
from services.provenance import detail_descriptor, detail_matches, fingerprint
from services.provenance.accusations import ChainAccusations, ManifestItems
from services.provenance.defender import Defender
from services.provenance.juror import ApiImages
from tests.api.conftest import Api
from tests.api.test_committee_flow import _juror_workers, _publish, _rounds, committee_api
from tests.api.test_watch_order import _register
from tests.contracts.attack_kit import proof
from tests.contracts.batch_kit import random_fingerprints, register_batch, tid
from tests.contracts.committee_kit import CommitteeWorld, committee_world
from tests.contracts.helpers import copier_esp, paid_lock, register_esp
from tests.services.provenance.test_stage3 import _page, _semaphore


@pytest.fixture
def committee(embedded_chain) -> CommitteeWorld:
    yield from committee_world(embedded_chain)


@pytest.fixture
def api(committee, tmp_path, api_database_url) -> Iterator[Api]:
    yield from committee_api(committee, tmp_path, api_database_url)


def test_a_squatters_review_does_not_take_a_batch_item_whose_image_is_unpublished(
    api, committee, tmp_path
):
    world = api.world
    squatter_img, victim_img = _page("disc"), _semaphore(0, 30)
    victim_detail = detail_descriptor(victim_img)
    assert not detail_matches(detail_descriptor(squatter_img), victim_detail)
    workers = _juror_workers(api, committee, tmp_path)
    register_esp(world)
    esp = copier_esp(world)
    squat = _register(
        world, world.attacker, squatter_img, paid_lock(world, world.attacker, esp), esp=esp
    )
    near = fingerprint(squatter_img).to_bytes32()  # admissible against the squat: distance 0
    bid, pb = register_batch(
        world,
        world.producer,
        fingerprints=[*random_fingerprints(2, seed=7), near],
        item_details=[victim_detail] * 3,
        esp=world.esp,
    )
    item = tid(bid, 2)
    api.index()
    _publish(api, world.attacker, squat, squatter_img)  # the squatter shows its image
    attacker = BatchRegistryClient(world.deployment, world.tx(world.attacker))
    attacker.challenge_with_single(squat, proof(world, squat), item, near, pb.fp_proof(2))
    squat_detail = world.registry(world.attacker).registered(squat).detail
    key = committee.committee(world.attacker).request_review(
        collection=attacker.address,
        original=squat,
        duplicate=item,
        hash_a=keccak(squat_detail),
        hash_b=keccak(victim_detail),
        opening_b=pb.opening(2),  # the item's (from the victim's batch plan; a published manifest)
    )
    committee.draw(key, by=world.attacker)  # at once: before the victim has heard of it

    rounds = _rounds(workers)
    assert sum("waits until block" in line for line in rounds) == 5, rounds
    assert not any("committed" in line for line in rounds), rounds

    layout = BatchLayout.of(
        [BatchItem(it.content_hash, it.fingerprint, keccak(it.detail), it.seed) for it in pb.items]
    )
    manifest = tmp_path / "batch-manifest.json"
    manifest.write_text(json.dumps(BatchManifest(bid, layout, (victim_detail,) * 3).to_json()))
    registry = RegistryClient(world.deployment, world.tx(world.producer))
    own = ManifestItems.load([manifest], BatchRegistryClient(world.deployment))
    defender = Defender(
        registry,
        ChainAccusations(registry, world.producer.address),
        state_path=tmp_path / "defend.json",
        item_details=own,
        own_items=own.opening,
        images=ApiImages(MarketClient(api.client, world.producer)),
    )
    log = defender.step()
    assert any("contested (deposit paid)" in line for line in log), log
    assert not any("review requested" in line for line in log), log  # the squatter's stands

    rounds = _rounds(workers)
    # the item's descriptor is on chain now, its image never published: the jurors wait out the
    # first quarter of the commit phase for the image, then the detail rule decides
    assert sum("for an image" in line for line in rounds) == 5, rounds
    world.chain.mine(committee.committee().params().commit_blocks // 4)
    rounds = _rounds(workers)
    assert sum("committed (no" in line for line in rounds) == 5, rounds
    client = committee.committee()
    chain = world.chain
    chain.mine(max(0, client.review(key).commit_deadline - chain.w3.eth.block_number))
    assert sum("revealed no" in line for line in _rounds(workers)) == 5
    committee.past_reveal(key)
    chain.mine(1)  # the verdict is read from the block after the reveal deadline
    assert client.matches(squat_detail, victim_detail) is False
    # what the squatter's resolve at the BatchRegistry reads: its own dispute's review
    forum = world.deployment.batch_registry.address
    assert client.matches_for(forum, squat, item, squat_detail, victim_detail) is False

    batches = BatchRegistryClient(world.deployment)
    chain.mine(max(0, batches.dispute(squat, item).deadline - chain.w3.eth.block_number))
    log = defender.step()
    assert any("decided: rejected, the token stays" in line for line in log), log
    assert batches.dispute(squat, item).state is DisputeState.REJECTED
    assert batches.status(item) is TokenStatus.ACTIVE


def test_the_victims_defender_requests_the_batch_review_with_its_items_opening(
    api, committee, tmp_path
):
    """The committee reviews only an open dispute's true pair, proven by openings: the victim's
    defender requests the review of the squatter's challenge at the BatchRegistry itself, with
    its own item's opening from its manifest file (the squatter's single token: its record proof
    from the chain); the contract accepted it (it would revert ``CommitteeBadOpening`` on a
    wrong one, and the client cannot read a batch item's from a ``Registered`` event)."""
    world = api.world
    committee.enroll(5)
    squatter_img, victim_img = _page("disc"), _semaphore(0, 30)
    victim_detail = detail_descriptor(victim_img)
    register_esp(world)
    esp = copier_esp(world)
    squat = _register(
        world, world.attacker, squatter_img, paid_lock(world, world.attacker, esp), esp=esp
    )
    near = fingerprint(squatter_img).to_bytes32()
    bid, pb = register_batch(
        world,
        world.producer,
        fingerprints=[*random_fingerprints(2, seed=7), near],
        item_details=[victim_detail] * 3,
        esp=world.esp,
    )
    item = tid(bid, 2)
    api.index()
    attacker = BatchRegistryClient(world.deployment, world.tx(world.attacker))
    attacker.challenge_with_single(squat, proof(world, squat), item, near, pb.fp_proof(2))
    layout = BatchLayout.of(
        [BatchItem(it.content_hash, it.fingerprint, keccak(it.detail), it.seed) for it in pb.items]
    )
    manifest = tmp_path / "batch-manifest.json"
    manifest.write_text(json.dumps(BatchManifest(bid, layout, (victim_detail,) * 3).to_json()))
    registry = RegistryClient(world.deployment, world.tx(world.producer))
    own = ManifestItems.load([manifest], BatchRegistryClient(world.deployment))
    defender = Defender(
        registry,
        ChainAccusations(registry, world.producer.address),
        state_path=tmp_path / "defend.json",
        item_details=own,
        own_items=own.opening,
    )
    log = defender.step()
    assert any("committee review requested" in line for line in log), log
    squat_detail = world.registry(world.attacker).registered(squat).detail
    review = committee.committee().review(
        review_key(attacker.address, squat, item, keccak(squat_detail), keccak(victim_detail))
    )
    assert review.requester == world.producer.address
    assert (review.collection, review.original, review.duplicate) == (attacker.address, squat, item)
