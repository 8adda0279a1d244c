"""The mis-attestation claim for a batch item (``claimMisattestedItem`` /
``finalizeMisattestedItem``).

The attack: the plagiarist registers its copy (the victim's image, mirrored) not as a single
Registry token but as an item of a BatchRegistry batch, its own ESP attesting the batch's
fingerprint leaf and item leaf with an unrelated image's values. No challenge of the item is
admissible (the attested fingerprint is far from the victim's), and the court's claim covered
only Registry tokens (``_registry.recordOf``): the item was unclaimable (``CourtUnknownToken``).
The victim now opens the item against the batch's roots (its fingerprint proof, its published
detail descriptor and item opening: content hash, seed, proof), the court emits the opening
(``ItemOpened``) for the jurors, the committee reviews the item's record with the same rule as a
single token's (``judge_record`` on the bytes whose canonical hash is the item's content hash),
and the claim's finalize revokes the item at the BatchRegistry, the ESP's slash burned.
The same guards as a single token's claim: rounds, a claim the court cannot decide refused by
name, a rejected claim's deposit to the item's holder."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from PIL import Image

from ledger import errors
from ledger.clients.batch_court import MisattestedItem
from ledger.clients.registry import DisputeState, TokenStatus
from services.provenance import detail_descriptor, fingerprint
from tests.contracts.batch_kit import client as batch_client
from tests.contracts.batch_kit import tid
from tests.contracts.committee_kit import SILENT, CommitteeWorld, committee_world
from tests.contracts.helpers import register_esp
from tests.contracts.misattestation_kit import (
    Images,
    camera,
    claim_item,
    copy_of,
    court,
    court_balance,
    finalize_item,
    honest_item_votes,
    png,
    register_item_pixels,
    unrelated,
)


@pytest.fixture
def cw(chain):
    yield from committee_world(chain)


def _misattested_item(cw: CommitteeWorld) -> tuple[MisattestedItem, Image.Image, LocalAccount]:
    """The attacker's copy as item 1 of a two-item batch, attested by its own ESP with an
    unrelated image's values."""
    world = cw.world
    esp = register_esp(world, world.accounts[8])
    copy, other = copy_of(camera()), unrelated()
    item = register_item_pixels(
        world,
        world.attacker,
        copy,
        esp=esp,
        fingerprint=fingerprint(other).to_bytes32(),
        detail=detail_descriptor(other),
    )
    return item, copy, esp


def _honest_item(cw: CommitteeWorld) -> tuple[MisattestedItem, Image.Image]:
    world = cw.world
    register_esp(world)
    image = camera()
    item = register_item_pixels(
        world,
        world.producer,
        image,
        fingerprint=fingerprint(image).to_bytes32(),
        detail=detail_descriptor(image),
    )
    return item, image


@pytest.mark.both_chains
def test_a_misattested_batch_item_is_revoked_by_a_claim(cw):
    """The attack: the copy hidden as a batch item. The victim's claim opens it, the jurors
    recompute its values from the bytes its content hash names and vote "mis-attested", the
    finalize revokes the item at the BatchRegistry; the ESP's slash is burned and the victim
    gets its deposit, the challenge reward and back its review fee (out of the item's bond)."""
    world = cw.world
    item, copy_image, esp = _misattested_item(cw)
    cw.enroll()
    esps = world.esps(world.deployer)
    stake = esps.esp_info(esp.address).stake
    held = court_balance(cw.world)
    key = claim_item(cw, item, world.producer)
    votes = honest_item_votes(cw, key, item, Images({item.token_id: png(copy_image)}))
    assert votes == [True] * 5
    cw.vote(key, votes)
    before = world.balance(world.producer.address)
    assert finalize_item(cw, item, world.buyer) is DisputeState.UPHELD
    params = world.registry(world.deployer).params()
    fee = cw.committee().params().review_fee
    gained = world.balance(world.producer.address) - before
    bond = world.params.batch_bond_per_item
    assert gained == params.challenge_deposit + min(params.challenge_reward + fee, bond)
    batches = batch_client(world, world.deployer)
    assert batches.status(item.token_id) is TokenStatus.REVOKED
    assert batches.status(item.token_id ^ 1) is TokenStatus.ACTIVE  # the batch's other item stays
    slash = min(stake, world.params.esp_slash_amount)
    assert esps.esp_info(esp.address).stake == stake - slash
    assert esps.compensation_of(world.producer.address) == 0  # burned, never a bounty
    assert court_balance(cw.world) == held  # the deposit back, the bond passed through
    with pytest.raises(errors.CourtTokenRevoked):
        claim_item(cw, item, world.producer)
    with pytest.raises(errors.CourtDisputeState):
        finalize_item(cw, item, world.buyer)  # decided once


def test_an_honest_item_is_not_convicted_and_the_claimant_pays_its_holder(cw):
    world = cw.world
    item, image = _honest_item(cw)
    cw.enroll()
    held = court_balance(cw.world)
    key = claim_item(cw, item, world.attacker)
    votes = honest_item_votes(cw, key, item, Images({item.token_id: png(image)}))
    assert votes == [False] * 5
    cw.vote(key, votes)
    before = world.balance(world.producer.address)
    assert finalize_item(cw, item, world.buyer) is DisputeState.REJECTED
    deposit = court(world, world.buyer).deposit()
    assert world.balance(world.producer.address) - before == deposit
    assert court_balance(cw.world) == held
    assert batch_client(world, world.deployer).status(item.token_id) is TokenStatus.ACTIVE
    assert world.esps(world.deployer).challenges_lost(world.esp.address) == 0


def test_an_item_claim_the_court_cannot_decide_reverts_with_a_named_error(cw):
    """No such item, a fingerprint proof or an opening that is not the item's, a descriptor
    that does not hash to its leaf, a deposit without the fee, a second claim while one is
    open: each refused by name before any Ether is held; finalize waits for the review's
    reveal deadline and checks the claimed values."""
    world = cw.world
    item, _, _ = _misattested_item(cw)
    cw.enroll()
    fee = cw.committee().params().review_fee
    c = court(world, world.producer)
    gone = replace(item, token_id=tid(item.token_id >> 32, 7))  # past the batch's count
    with pytest.raises(errors.CourtUnknownToken):
        c.claim_misattested_item(gone, review_fee=fee)
    with pytest.raises(errors.CourtBadProof):
        c.claim_misattested_item(replace(item, fingerprint=keccak(b"another")), review_fee=fee)
    with pytest.raises(errors.CourtBadProof):
        c.claim_misattested_item(replace(item, detail=item.detail + b"\x00"), review_fee=fee)
    other_bytes = replace(item.opening, content_hash=keccak(b"other bytes"))
    with pytest.raises(errors.CourtBadProof):
        c.claim_misattested_item(replace(item, opening=other_bytes), review_fee=fee)
    with pytest.raises(errors.CourtWrongValue):
        c.claim_misattested_item(item, review_fee=0)
    key = claim_item(cw, item, world.producer, draw=False)
    with pytest.raises(errors.CourtDisputeExists):
        claim_item(cw, item, world.attacker)
    with pytest.raises(errors.CourtDisputeWindow):  # not drawn yet
        finalize_item(cw, item, world.buyer)
    cw.draw(key)
    cw.vote(key, [True] * 5)
    claimed = item.record
    for forged in (
        replace(claimed, fingerprint=keccak(b"x")),  # values other than the claimed ones
        replace(claimed, esp=world.buyer.address),  # another ESP to slash
    ):
        with pytest.raises(errors.CourtBadProof):
            court(world, world.buyer).finalize_misattested(item.token_id, forged)


def test_a_failed_item_claim_does_not_immunise_and_no_quorum_is_void(cw):
    """The plagiarist's own claim with the bytes withheld fails (round 1, Rejected: the deposit
    to itself, the holder); the victim's round 2 revokes the item. Without a quorum a claim is
    Void and the claimant refunded."""
    world = cw.world
    item, copy_image, _ = _misattested_item(cw)
    cw.enroll(15)  # three reviews
    key = claim_item(cw, item, world.attacker)
    assert honest_item_votes(cw, key, item, Images({})) == [False] * 5
    cw.vote(key, [False] * 5)
    assert finalize_item(cw, item, world.buyer) is DisputeState.REJECTED
    key2 = claim_item(cw, item, world.producer)
    assert key2 != key and court(world, world.buyer).misattestation(item.token_id).round == 2
    cw.vote(key2, [True, True, SILENT, SILENT, SILENT])
    before = world.balance(world.producer.address)
    assert finalize_item(cw, item, world.buyer) is DisputeState.VOID
    assert world.balance(world.producer.address) - before == court(world, world.buyer).deposit()
    key3 = claim_item(cw, item, world.producer)
    cw.vote(key3, honest_item_votes(cw, key3, item, Images({item.token_id: png(copy_image)})))
    assert finalize_item(cw, item, world.buyer) is DisputeState.UPHELD
