"""Red team, round 2: a buyer who skips the royalty after the sale.

On a resale the buyer locks the producer's royalty beside the seller's payment, under the same
hashlock and until the same T2. Once the seller claims its payment the secret is public and
anyone may withdraw the royalty lock to the producer; the buyer's SDK does, but a buyer on its
own client takes the token and, at T2, refunds the royalty to itself. Nobody told the producer
that its royalty could be collected, or how: the API now does, with the prepared withdrawal.
"""

from __future__ import annotations

from ledger import LockTerms
from services.exchange import buyer_claim_token, seller_claim_payment
from services.market_client import MarketClient
from tests.api._trading import PRICE, lock_token, sign_and_relay, start_trade
from tests.contracts.helpers import past_reclaim, register_esp, register_image

ROYALTY_BPS = 500


def test_the_producer_is_told_its_royalty_is_claimable_and_collects_it_before_the_refund(api):
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    past_reclaim(world)  # a fresh token does not move (RegistryTokenReclaimable)
    world.registry(world.producer).transfer(world.attacker.address, token)  # resold by attacker
    _, trade, buyer = start_trade(api, world.attacker, world.buyer, token)
    offer = lock_token(api, world.attacker, world.buyer, token)
    api.index()
    for leg in buyer.post(f"/v1/trades/{trade['id']}/payment-tx", json={})["locks"]:
        sign_and_relay(api, world.buyer, leg["tx"])
    api.index()
    state = buyer.get(f"/v1/trades/{trade['id']}")
    assert state["status"] == "payment_locked"
    payment = LockTerms.from_json(state["payment_lock"])
    producer = MarketClient(api.client, world.producer)
    assert [n for n in producer.get("/v1/notifications")["items"] if "royalty" in n["kind"]] == []
    seller_claim_payment(world.htlc(world.attacker), payment, offer, price=PRICE)
    # The buyer takes the token and never withdraws the royalty lock (it would refund it at T2).
    buyer_claim_token(world.htlc(world.buyer), payment, offer.asset_lock)
    api.index()
    api.index()  # indexed twice: still one note
    notes = [
        n for n in producer.get("/v1/notifications")["items"] if n["kind"] == "royalty_claimable"
    ]
    assert len(notes) == 1, notes
    (note,) = notes
    royalty = PRICE * ROYALTY_BPS // 10_000
    assert (note["trade_id"], int(note["amount"])) == (trade["id"], royalty)
    prepared = note["prepared_withdrawal"]
    assert prepared["endpoint"] == "/v1/tx/locks/withdraw"
    before = world.balance(world.producer.address)
    tx = producer.post(prepared["endpoint"], json=prepared["body"])
    sign_and_relay(api, world.producer, tx)
    api.index()
    gas_paid = before + royalty - world.balance(world.producer.address)
    assert 0 < gas_paid < royalty  # the royalty arrived, less the withdrawal's own gas
    assert buyer.get(f"/v1/trades/{trade['id']}")["status"] == "completed"
    kinds = {n["kind"] for n in producer.get("/v1/notifications")["items"]}
    assert "royalty_claimable" not in kinds  # collected: nothing left to announce
    # The buyer and the seller are told nothing of it.
    for who in (buyer, MarketClient(api.client, world.attacker)):
        kinds = {n["kind"] for n in who.get("/v1/notifications")["items"]}
        assert "royalty_claimable" not in kinds


def test_a_primary_sale_has_no_royalty_to_announce(api):
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    _, trade, buyer = start_trade(api, world.producer, world.buyer, token)
    offer = lock_token(api, world.producer, world.buyer, token)
    api.index()
    (leg,) = buyer.post(f"/v1/trades/{trade['id']}/payment-tx", json={})["locks"]
    sign_and_relay(api, world.buyer, leg["tx"])
    api.index()
    payment = LockTerms.from_json(buyer.get(f"/v1/trades/{trade['id']}")["payment_lock"])
    seller_claim_payment(world.htlc(world.producer), payment, offer, price=PRICE)
    api.index()
    kinds = {
        n["kind"]
        for n in MarketClient(api.client, world.producer).get("/v1/notifications")["items"]
    }
    assert "royalty_claimable" not in kinds


def test_a_sale_whose_royalty_the_buyer_refunded_leaves_no_open_listing(api):
    """Nobody withdrew the royalty lock and the buyer refunded it at T2: the trade is not
    ``completed``, but the token has left the seller, and its listing stayed open (the product
    page offered to sell it again for the old seller)."""
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    past_reclaim(world)  # a fresh token does not move (RegistryTokenReclaimable)
    world.registry(world.producer).transfer(world.attacker.address, token)
    listing, trade, buyer = start_trade(api, world.attacker, world.buyer, token)
    offer = lock_token(api, world.attacker, world.buyer, token)
    api.index()
    for leg in buyer.post(f"/v1/trades/{trade['id']}/payment-tx", json={})["locks"]:
        sign_and_relay(api, world.buyer, leg["tx"])
    api.index()
    state = buyer.get(f"/v1/trades/{trade['id']}")
    payment = LockTerms.from_json(state["payment_lock"])
    royalty_lock = LockTerms.from_json(state["royalty_lock"])
    seller_claim_payment(world.htlc(world.attacker), payment, offer, price=PRICE)
    buyer_claim_token(world.htlc(world.buyer), payment, offer.asset_lock)
    world.chain.increase_time(royalty_lock.timelock - world.chain.timestamp() + 1)
    world.chain.mine()
    world.htlc(world.buyer).refund(royalty_lock)
    api.index()
    assert buyer.get(f"/v1/trades/{trade['id']}")["status"] != "completed"
    assert api.client.get(f"/v1/listings/{listing['id']}").json()["status"] != "open"
    assert api.client.get("/v1/listings", params={"token_id": str(token)}).json()["items"] == []
