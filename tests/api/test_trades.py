"""Listings as signed offers and a swap through the API, with the timelock ordering enforced."""

from __future__ import annotations

import pytest

from services.exchange import buyer_claim_token, seller_claim_payment, seller_lock_token
from services.listing import Offer, sign_offer
from services.market_client import MarketClient, MarketError
from tests.api._trading import sign_and_relay
from tests.contracts.helpers import register_esp, register_image

PRICE = 5 * 10**16


def _list(api, seller, token, *, price=PRICE, nonce=1, expiry=None):
    world = api.world
    offer = Offer(token, seller.address, price, expiry or world.chain.timestamp() + 86400, nonce)
    sig = sign_offer(
        seller, offer, chain_id=world.chain.chain_id, registry=world.deployment.registry.address
    )
    client = MarketClient(api.client, seller)
    return client.post(
        "/v1/listings",
        json={
            "token_id": f"0x{token:064x}",
            "price": price,
            "expiry": offer.expiry,
            "nonce": nonce,
            "signature": "0x" + sig.hex(),
        },
    )


def test_listing_rules(api):
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    listing = _list(api, world.producer, token)
    assert listing["status"] == "open"
    assert api.client.get("/v1/listings").json()["items"][0]["id"] == listing["id"]
    with pytest.raises(MarketError) as exc:  # same signed offer twice
        _list(api, world.producer, token)
    assert exc.value.code == "conflict"
    with pytest.raises(MarketError) as exc:  # not the owner
        _list(api, world.buyer, token, nonce=2)
    assert exc.value.status == 403
    with pytest.raises(MarketError) as exc:  # expired
        _list(api, world.producer, token, nonce=3, expiry=1)
    assert exc.value.status == 422
    seller = MarketClient(api.client, world.producer)
    with pytest.raises(MarketError) as exc:  # buying your own listing
        seller.post("/v1/trades", json={"listing_id": listing["id"]})
    assert exc.value.code == "conflict"
    with pytest.raises(MarketError) as exc:  # only the seller cancels
        MarketClient(api.client, world.buyer).delete(f"/v1/listings/{listing['id']}")
    assert exc.value.status == 403
    assert seller.delete(f"/v1/listings/{listing['id']}")["status"] == "cancelled"
    with pytest.raises(MarketError) as exc:  # a cancelled listing cannot be bought
        MarketClient(api.client, world.buyer).post("/v1/trades", json={"listing_id": listing["id"]})
    assert exc.value.code == "conflict"


def test_swap_through_the_api(api):
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    listing = _list(api, world.producer, token)
    buyer = MarketClient(api.client, world.buyer)
    trade = buyer.post("/v1/trades", json={"listing_id": listing["id"]})
    assert trade["status"] == "requested"
    world.registry(world.producer).approve(world.deployment.htlc.address, token)
    offer = seller_lock_token(
        world.htlc(world.producer),
        token=world.deployment.registry.address,
        token_id=token,
        buyer=world.buyer.address,
        timelock=world.chain.timestamp() + 7200,
    )
    api.index()
    assert buyer.get(f"/v1/trades/{trade['id']}")["status"] == "asset_locked"
    with pytest.raises(MarketError) as exc:  # the API refuses an unsafe ordering
        buyer.post(
            f"/v1/trades/{trade['id']}/payment-tx", json={"timelock": offer.asset_lock.timelock - 5}
        )
    assert exc.value.code == "unsafe_timelock_order"
    out = buyer.post(f"/v1/trades/{trade['id']}/payment-tx", json={})
    (leg,) = out["locks"]  # a primary sale: the whole price to the seller, no royalty lock
    assert (leg["role"], leg["receiver"], int(leg["amount"])) == (
        "payment",
        world.producer.address,
        PRICE,
    )
    sign_and_relay(api, world.buyer, leg["tx"])
    api.index()
    state = buyer.get(f"/v1/trades/{trade['id']}")
    assert state["status"] == "payment_locked"
    assert state["royalty_lock"] is None
    from ledger import LockTerms

    payment = LockTerms.from_json(state["payment_lock"])
    seller_claim_payment(world.htlc(world.producer), payment, offer)
    api.index()
    assert buyer.get(f"/v1/trades/{trade['id']}")["status"] == "payment_claimed"
    buyer_claim_token(world.htlc(world.buyer), payment, offer.asset_lock)
    api.index()
    assert buyer.get(f"/v1/trades/{trade['id']}")["status"] == "completed"
    assert (
        api.client.get("/v1/listings", params={"status": "sold"}).json()["items"][0]["id"]
        == listing["id"]
    )
    assert api.client.get(f"/v1/products/0x{token:064x}").json()["owner"] == world.buyer.address
