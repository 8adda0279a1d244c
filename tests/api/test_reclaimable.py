"""A token that can still be reclaimed is not sold (red team 2, 4ce3931,
``tests/contracts/test_redteam2_escrow.py``).

``Registry.reclaim`` moves a token from whoever holds it to an earlier payer of the same ESP for
the same bytes: right against the thief, wrong against a buyer in good faith. The ESP's Sybil
registers its customer's very bytes under a younger lock and sells the token at once; the
customer's reclaim then takes it from the buyer. The Registry refuses any token to the swap
escrow within ``registrationWindow + commitTtl`` blocks of its reveal or last reclaim
(``RegistryTokenReclaimable``, 4ab427a): every earlier payer's window closes by then, so the
market holds each token exactly that long (listing, trade requests and payment locks are 409
``token_reclaimable`` naming the block; the product page shows it) and no fee lock longer
(``marketplace_api/sale_holds.py`` says why; the API's scan of the ESP's fee locks is gone).
"""

from __future__ import annotations

import pytest

from services.market_client import MarketError
from tests.api._trading import list_token
from tests.contracts.helpers import (
    paid_lock,
    past_reclaim,
    register_esp,
    register_image,
    registration,
)


def _refused(api, seller, token: int) -> MarketError:
    with pytest.raises(MarketError) as refused:
        list_token(api, seller, token, wait=False)
    return refused.value


def test_a_token_its_esps_earlier_payer_can_reclaim_is_not_listed_until_the_window_closes(api):
    world = api.world
    register_esp(world)
    esp, sybil, params = world.esp, world.attacker, world.params
    customer_lock = paid_lock(world, world.producer, esp)  # the customer pays first
    _, locked_at = world.htlc(world.producer).lock_info(customer_lock.id)
    content = b"the customer's image, sold by the ESP's Sybil"
    taken = register_image(world, sybil, content=content, esp=esp)  # a younger lock, same ESP
    api.index()
    until = world.registry(sybil).reclaimable_until(taken)  # the chain's hold, the longer
    assert locked_at + params.registration_window_blocks + params.commit_ttl_blocks < until

    refused = _refused(api, sybil, taken)  # failed before: listed (201)
    assert (refused.status, refused.code) == (409, "token_reclaimable")
    assert f"until block {until}" in refused.message
    assert api.client.get("/v1/listings", params={"token_id": str(taken)}).json()["items"] == []
    assert api.client.get(f"/v1/products/{taken}").json()["reclaimable_until"] == until

    # one window later the customer can no longer commit with that lock: the token sells
    world.chain.mine(until - world.chain.w3.eth.block_number + 1)
    api.index()
    assert api.client.get(f"/v1/products/{taken}").json()["reclaimable_until"] is None
    assert list_token(api, sybil, taken)["status"] == "open"


def test_a_reclaim_restarts_the_hold_the_api_reports_as_the_registry_does(api):
    """The Registry restarts a token's escrow hold at a reclaim (its record is rewritten at that
    block); the API's hold follows it (the indexer moves the product's registered_block to the
    reclaim), so a reclaimed token is a 409 with the chain's block, not a listing whose seller's
    escrow lock would revert ``RegistryTokenReclaimable``."""
    world = api.world
    register_esp(world)
    esp, sybil = world.esp, world.attacker
    customer_lock = paid_lock(world, world.producer, esp)  # the customer pays first
    content = b"the customer's image, taken by the ESP's Sybil, then reclaimed"
    taken = register_image(world, sybil, content=content, esp=esp)
    world.chain.mine(5)  # the reclaim lands some blocks after the reveal
    reg = registration(world.producer.address, esp.address, lock=customer_lock, content=content)
    customer = world.registry(world.producer)
    customer.commit(reg)
    customer.reclaim(reg, customer_lock, customer.sign_attestation(esp, reg))
    api.index()
    assert customer.owner_of(taken) == world.producer.address
    until = customer.reclaimable_until(taken)
    assert api.client.get(f"/v1/products/{taken}").json()["reclaimable_until"] == until
    refused = _refused(api, world.producer, taken)
    assert (refused.status, refused.code) == (409, "token_reclaimable")
    assert f"until block {until}" in refused.message


def test_a_listing_made_before_the_lock_was_indexed_is_not_bought(api):
    world = api.world
    register_esp(world)
    esp, sybil = world.esp, world.attacker
    paid_lock(world, world.producer, esp)
    taken = register_image(world, sybil, esp=esp)
    listing = list_token(api, sybil, taken, wait=False)  # the indexer has not seen it yet
    api.index()
    r = api.client.post(
        "/v1/trades", json={"listing_id": listing["id"]}, headers=api.sign_in(world.buyer)
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "token_reclaimable"
    # the block is a field, as the contract's RegistryTokenReclaimable has it (the JS SDK reads
    # `fields.reclaimable_until`; before, only the message named it)
    until = world.registry(sybil).reclaimable_until(taken)
    assert r.json()["error"]["fields"] == {"reclaimable_until": str(until)}


def test_a_stay_in_the_escrow_after_the_window_does_not_hold_the_token_again(api):
    """The Registry extends a reclaim's window by the blocks the token spent in the swap escrow
    (7e154ee), but the escrow takes a token only once that window has passed
    (``RegistryTokenReclaimable``; before, a taker parked it there to outlast the window), so a
    stay cannot reopen it: the token parked for a few blocks past the window and refunded is
    listed at once (a transfer does not move the hold's block)."""
    from tests.contracts.test_redteam2_escrow import _list  # the escrow lock the contract tests use

    world = api.world
    register_esp(world)
    esp, sybil = world.esp, world.attacker
    paid_lock(world, world.producer, esp)
    taken = register_image(world, sybil, content=b"parked in the escrow", esp=esp)
    api.index()
    until = world.registry(sybil).reclaimable_until(taken)
    assert api.client.get(f"/v1/products/{taken}").json()["reclaimable_until"] == until
    refused = _refused(api, sybil, taken)
    assert (refused.status, refused.code) == (409, "token_reclaimable")
    past_reclaim(world)
    parked = _list(world, sybil, taken, to=world.accounts[7].address, seconds=3600)
    world.chain.mine(3)
    world.chain.increase_time(3600 + 60)
    world.htlc(sybil).refund(parked)
    world.chain.mine(world.params.commit_ttl_blocks + 1)  # the relist gap
    api.index()
    assert api.client.get(f"/v1/products/{taken}").json()["reclaimable_until"] is None
    assert list_token(api, sybil, taken, wait=False)["status"] == "open"
