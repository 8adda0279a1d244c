"""Red team, round 2 (issue 11): the batch forums against an ESP that takes its customer's image.

Where the contract still lets the attack through, the test states the behaviour the issue asks
for and is marked ``xfail(strict=True)`` with the hole in one line; the contract fix it needs is
in its docstring (contract changes are made by the contract build's owner).

Runs on the default chain backend (``world``).
"""

from __future__ import annotations

import pytest
from eth_utils import keccak

from ledger import errors
from ledger.clients.registry import TokenStatus
from tests.contracts.batch_kit import client
from tests.contracts.helpers import BASE_FP, copier_esp, paid_lock, register_esp
from tests.contracts.test_court_duplicate_image import _batch_holding, _batched_status, court


def test_an_esp_that_batches_its_batching_customers_image_for_a_sybil_loses_the_sybils_item(world):
    """``test_an_esp_that_batches_its_customers_image_for_a_sybil_loses_the_sybils_item`` (the
    court's ``revokeDuplicateImage``) holds when the customer registers its image alone. A
    customer that registers by batch (docs/batches.md: the producer's batch flow) has no such
    remedy. The customer pays first (older lock); the ESP, which has the image first, batches
    the very bytes for its Sybil under a later lock (its own rule "an image goes in one batch
    only", ``already_batched``, is off chain: the ESP is the attacker) and reveals first; then it
    attests the customer's batch as usual. Two items, one image, one ESP: the customer's
    challenge of the Sybil's item reverts ``BatchSameEsp``, the court's ruling takes an item and
    a *single* (``revokeDuplicateImage(item, single, ...)``), and no path slashes the ESP. The
    Sybil holds a second token of the customer's paid image for good, sellable, for the cost of
    a fee to its own ESP and the item's bond (0.01 ETH, at stake with the token like any).

    Fix (contract): the court's ruling for two batch items as for an item and a single: given
    both items' openings (content hash, detail hash, seed, item proof) with the same content
    hash, revoke the item with the later lock when two payers registered it (slashing the ESP,
    burned) or the later published when one producer did; or let the BatchRegistry's challenge
    between two items of one ESP proceed when the challenger opens both to the same content
    hash (an identical image: priority by lock, as ``reclaim`` rules at the Registry).

    Fixed (a strict xfail before: the batch challenge reverted ``BatchSameEsp`` and no ruling
    took two items): the court's ``revokeDuplicateItem``, the first fix above. The batch
    challenge still refuses one ESP; the customer asks the court, which revokes the Sybil's
    item (the later lock) and reports the ESP (its slash burned)."""
    register_esp(world)
    esp, customer, sybil = world.esp, world.producer, world.attacker
    content = b"the customer's image, batched twice"
    customer_lock = paid_lock(world, customer, esp)  # the customer pays first
    _, p_sybil, taken = _batch_holding(world, sybil, content, esp=esp)  # later lock, first
    _, p_customer, own = _batch_holding(world, customer, content, esp=esp, lock=customer_lock)
    i_own, i_taken = own & 0xFFFFFFFF, taken & 0xFFFFFFFF
    assert p_customer.items[i_own].content_hash == p_sybil.items[i_taken].content_hash

    with pytest.raises(errors.BatchSameEsp):
        client(world, customer).challenge(
            own, BASE_FP, p_customer.fp_proof(i_own), taken, BASE_FP, p_sybil.fp_proof(i_taken)
        )
    lost_before = world.esps(world.deployer).esp_info(esp.address).challenges_lost
    revoked = court(world, customer).revoke_duplicate_item(
        own,
        taken,
        first_detail_hash=keccak(p_customer.items[i_own].detail),
        first_opening=p_customer.opening(i_own),
        second_detail_hash=keccak(p_sybil.items[i_taken].detail),
        second_opening=p_sybil.opening(i_taken),
    )

    assert revoked == taken
    assert _batched_status(world, taken) is TokenStatus.REVOKED
    assert _batched_status(world, own) is TokenStatus.ACTIVE
    assert world.esps(world.deployer).esp_info(esp.address).challenges_lost == lost_before + 1


def test_the_two_item_ruling_refuses_one_item_twice_two_contents_and_two_esps(world):
    """What ``revokeDuplicateItem`` could be abused for: one item named twice or two items of
    different contents (``CourtNotSameImage``), and two items of one image attested by two ESPs
    (``CourtNotSameEsp``: one ESP lied, the detail rule and the challenges decide)."""
    register_esp(world)
    other = copier_esp(world)
    esp, customer, sybil = world.esp, world.producer, world.attacker
    content = b"an image batched by two ESPs"
    _, p_one, one = _batch_holding(world, customer, content, esp=esp)
    _, p_two, two = _batch_holding(world, sybil, content, esp=other)
    _, p_three, three = _batch_holding(world, sybil, b"another image", esp=esp)
    i = {t: t & 0xFFFFFFFF for t in (one, two, three)}

    def rule(first, p_first, second, p_second):
        return court(world, customer).revoke_duplicate_item(
            first,
            second,
            first_detail_hash=keccak(p_first.items[i[first]].detail),
            first_opening=p_first.opening(i[first]),
            second_detail_hash=keccak(p_second.items[i[second]].detail),
            second_opening=p_second.opening(i[second]),
        )

    with pytest.raises(errors.CourtNotSameImage):
        rule(one, p_one, one, p_one)
    with pytest.raises(errors.CourtNotSameImage):
        rule(one, p_one, three, p_three)
    with pytest.raises(errors.CourtNotSameEsp):
        rule(one, p_one, two, p_two)


def test_a_producer_batching_its_own_image_twice_loses_the_later_item_and_no_esp_is_slashed(world):
    """The two-item ruling's one-producer branch: a producer that batched one image twice (one
    ESP) holds both items; the court revokes the later published (the earlier stands whichever
    is named first), and the ESP, which did nothing wrong, is not reported."""
    register_esp(world)
    esp, producer = world.esp, world.producer
    content = b"one producer's image, batched twice"
    _, p_early, early = _batch_holding(world, producer, content, esp=esp)
    _, p_late, late = _batch_holding(world, producer, content, esp=esp)
    i_early, i_late = early & 0xFFFFFFFF, late & 0xFFFFFFFF
    lost_before = world.esps(world.deployer).esp_info(esp.address).challenges_lost
    revoked = court(world, world.buyer).revoke_duplicate_item(
        late,
        early,
        first_detail_hash=keccak(p_late.items[i_late].detail),
        first_opening=p_late.opening(i_late),
        second_detail_hash=keccak(p_early.items[i_early].detail),
        second_opening=p_early.opening(i_early),
    )
    assert revoked == late
    assert _batched_status(world, early) is TokenStatus.ACTIVE
    assert world.esps(world.deployer).esp_info(esp.address).challenges_lost == lost_before
