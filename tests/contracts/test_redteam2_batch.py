"""Red team, round 2 (issue 11): the batch forums against an ESP that takes its customer's image.

Where the contract still lets the attack through, the test states the behaviour the issue asks
for and is marked ``xfail(strict=True)`` with the hole in one line; the contract fix it needs is
in its docstring (contract changes are made by the contract build's owner).

Runs on the default chain backend (``world``).
"""

from __future__ import annotations

import pytest

from ledger import errors
from ledger.clients.registry import TokenStatus
from tests.contracts.batch_kit import client
from tests.contracts.helpers import BASE_FP, paid_lock, register_esp
from tests.contracts.test_court_duplicate_image import _batch_holding, _batched_status


@pytest.mark.xfail(
    strict=True,
    raises=errors.BatchSameEsp,
    reason="two batch items of one image attested by one ESP can never be ruled: the batch "
    "challenge refuses one ESP (BatchSameEsp) and the court's duplicate-image ruling needs a "
    "single token, so an ESP that batches its batching customer's image for a Sybil keeps it",
)
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
    hash (an identical image: priority by lock, as ``reclaim`` rules at the Registry)."""
    register_esp(world)
    esp, customer, sybil = world.esp, world.producer, world.attacker
    content = b"the customer's image, batched twice"
    customer_lock = paid_lock(world, customer, esp)  # the customer pays first
    _, p_sybil, taken = _batch_holding(world, sybil, content, esp=esp)  # later lock, first
    _, p_customer, own = _batch_holding(world, customer, content, esp=esp, lock=customer_lock)
    i_own, i_taken = own & 0xFFFFFFFF, taken & 0xFFFFFFFF
    assert p_customer.items[i_own].content_hash == p_sybil.items[i_taken].content_hash

    client(world, customer).challenge(
        own, BASE_FP, p_customer.fp_proof(i_own), taken, BASE_FP, p_sybil.fp_proof(i_taken)
    )
    world.chain.mine(world.params.dispute_window_blocks + 1)
    client(world, customer).finalize(own, taken)

    assert _batched_status(world, taken) is TokenStatus.REVOKED
    assert _batched_status(world, own) is TokenStatus.ACTIVE
