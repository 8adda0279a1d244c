"""Listings as signed offers and a swap through the API, with the timelock ordering enforced."""

from __future__ import annotations

import pytest

from services.exchange import buyer_claim_token, seller_claim_payment, seller_lock_token
from services.listing import Offer, sign_offer
from services.market_client import MarketClient, MarketError
from tests.api._trading import sign_and_relay
from tests.contracts.helpers import past_reclaim, register_esp, register_image

PRICE = 5 * 10**16


def _list(api, seller, token, *, price=PRICE, nonce=1, expiry=None, wait=True):
    world = api.world
    if wait:  # the market holds a token an earlier payer may still reclaim
        past_reclaim(world)
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
        _list(api, world.producer, token, wait=False)
    assert exc.value.code == "conflict"
    with pytest.raises(MarketError) as exc:  # not the owner
        _list(api, world.buyer, token, nonce=2, wait=False)
    assert exc.value.status == 403
    with pytest.raises(MarketError) as exc:  # expired
        _list(api, world.producer, token, nonce=3, expiry=1, wait=False)
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


def test_listings_filter_by_token_and_seller_beyond_the_newest_page(api):
    """A product page asks for its own token's listing: with more open listings than one page
    holds, the old client-side search of the newest 200 missed older ones (no buy button)."""
    world = api.world
    register_esp(world)
    first = register_image(world, world.producer)
    older = _list(api, world.producer, first)
    for k in range(3):  # newer listings push the first one down the page
        token = register_image(world, world.producer)
        _list(api, world.producer, token, nonce=10 + k)
    newest_one = api.client.get("/v1/listings", params={"limit": 1}).json()["items"]
    assert [item["id"] for item in newest_one] != [older["id"]]
    for form in (str(first), f"0x{first:064x}", hex(first)):
        items = api.client.get("/v1/listings", params={"token_id": form, "limit": 1}).json()
        assert [item["id"] for item in items["items"]] == [older["id"]]
    mine = api.client.get("/v1/listings", params={"seller": world.producer.address.lower()}).json()[
        "items"
    ]
    assert len(mine) == 4 and mine[-1]["id"] == older["id"]
    assert api.client.get("/v1/listings", params={"seller": world.buyer.address}).json() == {
        "items": []
    }
    for bad in ({"token_id": "12ab"}, {"seller": "0x1234"}):
        r = api.client.get("/v1/listings", params=bad)
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


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
    seller_claim_payment(world.htlc(world.producer), payment, offer, price=PRICE)
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


def test_a_price_beyond_2_53_round_trips_as_a_decimal_string(api):
    """A JavaScript wallet sends uint256 values as strings: the offer it signed verifies, and
    every number comes back as the same decimal string. The same price as a JSON number parsed
    into a double (what ``JSON.parse`` gives JavaScript) is a different offer and is refused."""
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    price = 1234567890123456789
    assert float(price) != price  # not representable as a double
    offer = Offer(token, world.producer.address, price, world.chain.timestamp() + 86400, 7)
    sig = (
        "0x"
        + sign_offer(
            world.producer,
            offer,
            chain_id=world.chain.chain_id,
            registry=world.deployment.registry.address,
        ).hex()
    )
    body = {"token_id": str(token), "price": str(price), "expiry": offer.expiry, "nonce": "7"}
    seller = MarketClient(api.client, world.producer)
    with pytest.raises(MarketError) as exc:  # the double's value: another offer
        seller.post("/v1/listings", json={**body, "price": int(float(price)), "signature": sig})
    assert exc.value.code == "bad_signature"
    listing = seller.post("/v1/listings", json={**body, "signature": sig})
    assert (listing["price"], listing["token_id"], listing["nonce"]) == (
        str(price),
        str(token),
        "7",
    )
    assert api.client.get(f"/v1/listings/{listing['id']}").json()["price"] == str(price)
    trade = MarketClient(api.client, world.buyer).post(
        "/v1/trades", json={"listing_id": listing["id"]}
    )
    assert trade["price"] == str(price) and trade["token_id"] == str(token)


@pytest.mark.parametrize("bad", ["-1", "1.5", "01", "0x", "1e18", str(2**256), True, 1.5])
def test_uint256_fields_refuse_what_is_not_an_unsigned_integer(api, bad):
    world = api.world
    r = api.client.post(
        "/v1/tx/locks/ether",
        json={
            "receiver": world.esp.address,
            "amount": bad,
            "hashlock": "0x" + "11" * 32,
            "timelock": world.chain.timestamp() + 3600,
        },
        headers=api.sign_in(world.producer),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", r.text
