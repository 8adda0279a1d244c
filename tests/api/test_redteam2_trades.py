"""Red team, round 2: the marketplace's trading routes, tried as a buyer (or a seller) would.

* a buyer who asks twice for the same listing, or whose request outlives the listing it was made
  on (cancelled, sold, closed by a transfer), must not take the seller's token lock: the seller's
  wallet locks for the trade it sees (its secret is kept under that trade's id), and the indexer
  matched the lock to the OLDEST requested trade of (seller, buyer, token), at that trade's price.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace_api.models import Trade
from services.exchange import buyer_claim_token, seller_claim_payment
from services.market_client import MarketClient, MarketError
from tests.api._trading import PRICE, list_token, lock_token, sign_and_relay, start_trade
from tests.contracts.helpers import register_esp, register_image


def _trades(api) -> int:
    with api.client.app.state.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Trade)) or 0)


def _state(client: MarketClient, trade: dict) -> str:
    return str(client.get(f"/v1/trades/{trade['id']}")["status"])


def test_a_second_request_for_the_same_listing_is_refused_and_writes_nothing(api):
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    listing, first, buyer = start_trade(api, world.producer, world.buyer, token)
    before = _trades(api)
    with pytest.raises(MarketError) as exc:
        buyer.post("/v1/trades", json={"listing_id": listing["id"]})
    assert (exc.value.status, exc.value.code) == (409, "trade_pending")
    assert _trades(api) == before
    # The one request gets the seller's lock.
    lock_token(api, world.producer, world.buyer, token)
    api.index()
    assert _state(buyer, first) == "asset_locked"


def test_a_request_on_a_cancelled_listing_does_not_take_the_lock_of_the_relisted_price(api):
    """The seller cancels a cheap listing and lists again dearer; the buyer's old request on the
    cheap one took the new lock, and the buyer paid the old price for it."""
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    cheap, old, buyer = start_trade(api, world.producer, world.buyer, token, price=PRICE // 10)
    seller = MarketClient(api.client, world.producer)
    assert seller.delete(f"/v1/listings/{cheap['id']}")["status"] == "cancelled"
    assert _state(buyer, old) == "cancelled"  # the request ends with its listing
    dear = list_token(api, world.producer, token, price=PRICE, nonce=2)
    new = buyer.post("/v1/trades", json={"listing_id": dear["id"]})
    offer = lock_token(api, world.producer, world.buyer, token)  # the seller locks for `new`
    api.index()
    assert (_state(buyer, old), _state(buyer, new)) == ("cancelled", "asset_locked")
    with pytest.raises(MarketError) as exc:
        buyer.post(f"/v1/trades/{old['id']}/payment-tx", json={})
    assert exc.value.code == "trade_not_ready"
    (leg,) = buyer.post(f"/v1/trades/{new['id']}/payment-tx", json={})["locks"]
    assert int(leg["amount"]) == PRICE
    sign_and_relay(api, world.buyer, leg["tx"])
    api.index()
    assert _state(buyer, new) == "payment_locked"
    assert offer.asset_lock.hashlock.hex() in buyer.get(f"/v1/trades/{new['id']}")["hashlock"]


def test_the_other_requests_of_a_sold_listing_end_with_it(api):
    """Two buyers race for one listing; the seller sells to the first. The second's request
    must not stay ``requested`` (the seller's dashboard offered to lock a token it no longer
    holds, and a later listing by the same seller to that buyer would be matched to it)."""
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    listing, won, first = start_trade(api, world.producer, world.buyer, token)
    second = MarketClient(api.client, world.attacker)
    lost = second.post("/v1/trades", json={"listing_id": listing["id"]})
    offer = lock_token(api, world.producer, world.buyer, token)
    api.index()
    (leg,) = first.post(f"/v1/trades/{won['id']}/payment-tx", json={})["locks"]
    sign_and_relay(api, world.buyer, leg["tx"])
    api.index()
    from ledger import LockTerms

    payment = LockTerms.from_json(first.get(f"/v1/trades/{won['id']}")["payment_lock"])
    seller_claim_payment(world.htlc(world.producer), payment, offer, price=PRICE)
    buyer_claim_token(world.htlc(world.buyer), payment, offer.asset_lock)
    api.index()
    assert _state(first, won) == "completed"
    assert _state(second, lost) == "cancelled"


def test_a_request_whose_listing_closed_by_a_transfer_ends_with_it(api):
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    listing, trade, buyer = start_trade(api, world.producer, world.buyer, token)
    world.registry(world.producer).transfer(world.attacker.address, token)
    api.index()
    assert api.client.get(f"/v1/listings/{listing['id']}").json()["status"] == "cancelled"
    assert _state(buyer, trade) == "cancelled"


def test_a_listing_racing_the_same_signed_offer_is_a_409_not_a_500(api):
    """Two posts of one signed offer at once (a double click, a retried request): the one that
    loses the insert answered 500 (the unique signature), not the documented 409."""
    from sqlalchemy import event, insert
    from sqlalchemy.orm import Session

    from marketplace_api.models import Listing

    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    engine = api.client.app.state.engine
    raced: list[str] = []

    def concurrent_insert(session, flush_context, instances):
        rows = [o for o in session.new if isinstance(o, Listing)]
        if raced or not rows:
            return
        raced.append(rows[0].signature)  # the other request's row lands first
        with engine.begin() as conn:
            conn.execute(
                insert(Listing).values(
                    token_id=rows[0].token_id,
                    collection=rows[0].collection,
                    seller=rows[0].seller,
                    price=rows[0].price,
                    expiry=rows[0].expiry,
                    nonce=rows[0].nonce,
                    signature=rows[0].signature,
                    status="open",
                )
            )

    event.listen(Session, "before_flush", concurrent_insert)
    try:
        with pytest.raises(MarketError) as exc:
            list_token(api, world.producer, token)
    finally:
        event.remove(Session, "before_flush", concurrent_insert)
    assert raced, "the race did not happen"
    assert (exc.value.status, exc.value.code) == (409, "conflict")
    (only,) = api.client.get("/v1/listings").json()["items"]
    assert only["signature"] == raced[0]


def test_a_sale_closes_the_sellers_other_listings_even_if_its_own_was_withdrawn_meanwhile(api):
    """The seller withdraws the listing after locking the token (the trade goes on) and the sale
    completes: its other open listing of the token stayed open, for a token it no longer has."""
    from ledger import LockTerms

    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    listing, trade, buyer = start_trade(api, world.producer, world.buyer, token)
    other = list_token(api, world.producer, token, price=2 * PRICE, nonce=2)
    offer = lock_token(api, world.producer, world.buyer, token)
    api.index()
    seller = MarketClient(api.client, world.producer)
    assert seller.delete(f"/v1/listings/{listing['id']}")["status"] == "cancelled"
    (leg,) = buyer.post(f"/v1/trades/{trade['id']}/payment-tx", json={})["locks"]
    sign_and_relay(api, world.buyer, leg["tx"])
    api.index()
    payment = LockTerms.from_json(buyer.get(f"/v1/trades/{trade['id']}")["payment_lock"])
    seller_claim_payment(world.htlc(world.producer), payment, offer, price=PRICE)
    buyer_claim_token(world.htlc(world.buyer), payment, offer.asset_lock)
    api.index()
    assert _state(buyer, trade) == "completed"
    assert api.client.get(f"/v1/listings/{other['id']}").json()["status"] == "cancelled"


def test_a_request_on_an_expired_listing_gives_way_to_the_sellers_new_listing(api):
    """The buyer's request outlived its listing's expiry; the seller lists again dearer. The
    new request is accepted and the stale one ends, so the seller's lock is not matched to the
    old price."""
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    world_time = world.chain.timestamp()
    from services.listing import Offer, sign_offer

    offer = Offer(token, world.producer.address, PRICE // 10, world_time + 600, 1)
    sig = sign_offer(
        world.producer,
        offer,
        chain_id=world.chain.chain_id,
        registry=world.deployment.registry.address,
    )
    seller = MarketClient(api.client, world.producer)
    old_listing = seller.post(
        "/v1/listings",
        json={
            "token_id": str(token),
            "price": str(PRICE // 10),
            "expiry": offer.expiry,
            "nonce": "1",
            "signature": "0x" + sig.hex(),
        },
    )
    buyer = MarketClient(api.client, world.buyer)
    old = buyer.post("/v1/trades", json={"listing_id": old_listing["id"]})
    world.chain.increase_time(601)
    world.chain.mine()
    dear = list_token(api, world.producer, token, price=PRICE, nonce=2)
    new = buyer.post("/v1/trades", json={"listing_id": dear["id"]})
    assert _state(buyer, old) == "cancelled"
    lock_token(api, world.producer, world.buyer, token)
    api.index()
    assert (_state(buyer, old), _state(buyer, new)) == ("cancelled", "asset_locked")


def test_two_requests_for_one_listing_at_once_make_one_trade(api):
    """A double click: the second request arrives while the first is being written. Each read
    the other's absence and both were inserted (the one-waiting-request rule checked, then
    wrote). The second now waits for the first and is refused."""
    import threading

    from sqlalchemy import event
    from sqlalchemy.orm import Session

    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    listing = list_token(api, world.producer, token)
    headers = api.sign_in(world.buyer)
    body = {"listing_id": listing["id"]}
    second: dict = {}

    def post_second() -> None:
        second["response"] = api.client.post("/v1/trades", json=body, headers=headers)

    racer = threading.Thread(target=post_second)

    def concurrent_request(session, flush_context, instances):
        if racer.ident is not None or not any(isinstance(o, Trade) for o in session.new):
            return
        racer.start()  # the double click, while the first request is about to write
        racer.join(timeout=1.5)  # either it finishes (no lock held) or it waits for us

    event.listen(Session, "before_flush", concurrent_request)
    try:
        first = api.client.post("/v1/trades", json=body, headers=headers)
    finally:
        event.remove(Session, "before_flush", concurrent_request)
    racer.join()
    assert racer.ident is not None, "the race did not happen"
    codes = sorted([first.status_code, second["response"].status_code])
    assert codes == [201, 409], (first.text, second["response"].text)
    assert _trades(api) == 1
