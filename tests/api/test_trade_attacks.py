"""The market findings of issue 13, tried as a buyer (or a seller) would: each failed before.

* a seller locks a same-id token of its own ERC-721: the API must not sell the fake;
* a revoked copy must not be paid for, and its listing closes;
* a resale pays the producer's ERC-2981 royalty through REST alone, and a payment short of the
  offer (no royalty lock, or a primary sale paid less) is never "paid" nor "completed";
* one timelock margin: the payment route refuses what the projection would call unsafe.
"""

from __future__ import annotations

import pytest

from ledger import LockTerms
from services.exchange import SAFETY_MARGIN_S, buyer_claim_token, seller_claim_payment
from services.market_client import MarketClient, MarketError
from tests.api._trading import PRICE, lock_token, start_trade
from tests.contracts.helpers import (
    NEAR_FP,
    challenge_and_finalize,
    past_reclaim,
    register_esp,
    register_image,
)

ROYALTY_BPS = 500


def _payment_tx(client: MarketClient, trade: dict, **body) -> dict:
    return client.post(f"/v1/trades/{trade['id']}/payment-tx", json=body)


def _state(client: MarketClient, trade: dict) -> dict:
    return client.get(f"/v1/trades/{trade['id']}")


def _resale_token(world) -> int:
    """A token its producer sold to the attacker, who now resells it (royalty due)."""
    register_esp(world)
    token = register_image(world, world.producer)
    past_reclaim(world)  # a fresh token does not move (RegistryTokenReclaimable)
    world.registry(world.producer).transfer(world.attacker.address, token)
    return token


def test_a_lock_of_a_same_id_fake_token_is_not_sold(api):
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    listing, trade, buyer = start_trade(api, world.producer, world.buyer, token)
    fake = world.deploy_test_contract("TestERC721")
    nft = world.contract("TestERC721", fake)
    seller_tx = world.tx(world.producer)
    seller_tx.send(nft.functions.mint(world.producer.address, token))
    seller_tx.send(nft.functions.approve(world.deployment.htlc.address, token))
    offer = lock_token(api, world.producer, world.buyer, token, contract=fake)
    api.index()
    assert _state(buyer, trade)["status"] == "requested"  # the fake lock is not the token
    with pytest.raises(MarketError) as exc:
        _payment_tx(buyer, trade)
    assert (exc.value.status, exc.value.code) == (409, "trade_not_ready")
    # Paying around the API changes nothing: the swap of the fake never completes the trade.
    payment = world.htlc(world.buyer).lock_ether(
        world.producer.address,
        amount=PRICE,
        hashlock=offer.asset_lock.hashlock,
        timelock=offer.asset_lock.timelock - SAFETY_MARGIN_S,
    )
    world.htlc(world.producer).withdraw(payment, offer.secret)  # around the seller's client too
    buyer_claim_token(world.htlc(world.buyer), payment, offer.asset_lock)
    api.index()
    assert _state(buyer, trade)["status"] != "completed"
    assert api.client.get(f"/v1/listings/{listing['id']}").json()["status"] == "open"
    assert world.registry(world.buyer).owner_of(token) == world.producer.address


def test_a_revoked_token_is_not_paid_for_and_its_listing_closes(api):
    world = api.world
    register_esp(world)
    original = register_image(world, world.producer)
    copy = register_image(world, world.attacker, fingerprint=NEAR_FP)
    listing, trade, buyer = start_trade(api, world.attacker, world.buyer, copy)
    lock_token(api, world.attacker, world.buyer, copy)
    api.index()
    assert _state(buyer, trade)["status"] == "asset_locked"
    assert challenge_and_finalize(world, world.producer, original, copy)  # the copy is revoked
    api.index()
    with pytest.raises(MarketError) as exc:
        _payment_tx(buyer, trade)
    assert (exc.value.status, exc.value.code) == (409, "token_not_tradable")
    assert _state(buyer, trade)["status"] == "cancelled"
    open_ids = [item["id"] for item in api.client.get("/v1/listings").json()["items"]]
    assert listing["id"] not in open_ids
    assert api.client.get(f"/v1/listings/{listing['id']}").json()["status"] == "cancelled"
    with pytest.raises(MarketError) as exc:  # nor can it be listed or bought again
        start_trade(api, world.attacker, world.buyer, copy, nonce=2)
    assert exc.value.code == "token_not_tradable"


def test_a_resale_pays_the_royalty_through_rest_alone(api):
    world = api.world
    token = _resale_token(world)
    listing, trade, buyer = start_trade(api, world.attacker, world.buyer, token)
    offer = lock_token(api, world.attacker, world.buyer, token)
    api.index()
    nonce = world.chain.w3.eth.get_transaction_count(world.buyer.address)
    out = buyer.pay_trade(trade["id"], nonce=nonce)  # signed locally, relayed: REST alone
    royalty = PRICE * ROYALTY_BPS // 10_000
    legs = {leg["role"]: leg for leg in out["locks"]}
    assert set(legs) == {"payment", "royalty"}
    assert (legs["payment"]["receiver"], int(legs["payment"]["amount"])) == (
        world.attacker.address,
        PRICE - royalty,
    )
    assert (legs["royalty"]["receiver"], int(legs["royalty"]["amount"])) == (
        world.producer.address,
        royalty,
    )
    assert out["hashlock"] == "0x" + offer.asset_lock.hashlock.hex()
    assert out["timelock"] == offer.asset_lock.timelock - SAFETY_MARGIN_S
    assert all(int(leg["tx"]["value"]) == int(leg["amount"]) for leg in out["locks"])
    api.index()
    state = _state(buyer, trade)
    assert state["status"] == "payment_locked"
    payment = LockTerms.from_json(state["payment_lock"])
    royalty_lock = LockTerms.from_json(state["royalty_lock"])
    producer_before = world.balance(world.producer.address)
    seller_claim_payment(
        world.htlc(world.attacker),
        payment,
        offer,
        registry=world.registry(world.attacker),
        price=PRICE,
    )
    api.index()
    assert _state(buyer, trade)["status"] == "payment_claimed"
    secret = buyer_claim_token(world.htlc(world.buyer), payment, offer.asset_lock)
    api.index()
    assert _state(buyer, trade)["status"] == "payment_claimed"  # the royalty is not paid yet
    world.htlc(world.buyer).withdraw(royalty_lock, secret)  # anyone may: the secret is public
    api.index()
    assert _state(buyer, trade)["status"] == "completed"
    assert world.balance(world.producer.address) == producer_before + royalty
    assert api.client.get(f"/v1/listings/{listing['id']}").json()["status"] == "sold"


def _pay_short(api, world, trade, offer, *, seller, amount):
    """The buyer locks ``amount`` for the seller with no royalty lock, around the API."""
    return world.htlc(world.buyer).lock_ether(
        seller.address,
        amount=amount,
        hashlock=offer.asset_lock.hashlock,
        timelock=offer.asset_lock.timelock - SAFETY_MARGIN_S,
    )


def test_a_resale_paid_without_the_royalty_lock_is_not_paid_nor_completed(api):
    world = api.world
    token = _resale_token(world)
    listing, trade, buyer = start_trade(api, world.attacker, world.buyer, token)
    offer = lock_token(api, world.attacker, world.buyer, token)
    api.index()
    short = PRICE - PRICE * ROYALTY_BPS // 10_000
    payment = _pay_short(api, world, trade, offer, seller=world.attacker, amount=short)
    api.index()
    assert _state(buyer, trade)["status"] == "asset_locked"  # not paid: the royalty is missing
    # The seller takes the short payment anyway (around its client, which refuses it) and the
    # buyer takes the token: never completed.
    world.htlc(world.attacker).withdraw(payment, offer.secret)
    buyer_claim_token(world.htlc(world.buyer), payment, offer.asset_lock)
    api.index()
    assert _state(buyer, trade)["status"] == "off_terms"
    assert api.client.get(f"/v1/listings/{listing['id']}").json()["status"] == "cancelled"


def test_a_primary_sale_paid_less_than_the_price_is_not_paid_nor_completed(api):
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    _, trade, buyer = start_trade(api, world.producer, world.buyer, token)
    offer = lock_token(api, world.producer, world.buyer, token)
    api.index()
    short = PRICE - PRICE * ROYALTY_BPS // 10_000  # "price minus royalty" on a primary sale
    payment = _pay_short(api, world, trade, offer, seller=world.producer, amount=short)
    api.index()
    assert _state(buyer, trade)["status"] == "asset_locked"
    world.htlc(world.producer).withdraw(payment, offer.secret)  # around the seller's client
    buyer_claim_token(world.htlc(world.buyer), payment, offer.asset_lock)
    api.index()
    assert _state(buyer, trade)["status"] == "off_terms"


def test_the_payment_route_refuses_what_the_projection_calls_unsafe(api):
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    _, trade, buyer = start_trade(api, world.producer, world.buyer, token)
    offer = lock_token(api, world.producer, world.buyer, token)
    api.index()
    t1 = offer.asset_lock.timelock
    exact = _payment_tx(buyer, trade, timelock=t1 - SAFETY_MARGIN_S)  # exactly the margin: fine
    assert [leg["role"] for leg in exact["locks"]] == ["payment"]  # a primary sale: one lock
    for body in ({"margin": 60}, {"timelock": t1 - SAFETY_MARGIN_S + 1}):
        with pytest.raises(MarketError) as exc:
            _payment_tx(buyer, trade, **body)
        assert (exc.value.status, exc.value.code) == (422, "unsafe_timelock_order")
    # What the route used to build with margin 60, the projection indeed calls unsafe.
    world.htlc(world.buyer).lock_ether(
        world.producer.address, amount=PRICE, hashlock=offer.asset_lock.hashlock, timelock=t1 - 60
    )
    api.index()
    assert _state(buyer, trade)["status"] == "unsafe_payment"


def test_a_fake_lock_recorded_before_the_fix_is_still_refused_at_payment(api):
    """A database indexed by an older version may hold a fake token lock as ``asset_locked``:
    the payment route checks the lock again (contract, token, parties, open on chain)."""
    from marketplace_api.models import Trade

    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    _, trade, buyer = start_trade(api, world.producer, world.buyer, token)
    fake = world.deploy_test_contract("TestERC721")
    nft = world.contract("TestERC721", fake)
    world.tx(world.producer).send(nft.functions.mint(world.producer.address, token))
    world.tx(world.producer).send(nft.functions.approve(world.deployment.htlc.address, token))
    offer = lock_token(api, world.producer, world.buyer, token, contract=fake)
    with api.client.app.state.sessions() as session:
        row = session.get(Trade, trade["id"])
        row.asset_lock = {**offer.asset_lock.to_json(), "asset": 2, "id": "0x" + "00" * 32}
        row.asset_lock_id, row.status = "0x" + "00" * 32, "asset_locked"
        row.hashlock = "0x" + offer.asset_lock.hashlock.hex()
        session.commit()
    with pytest.raises(MarketError) as exc:
        _payment_tx(buyer, trade)
    assert (exc.value.status, exc.value.code) == (409, "lock_mismatch")
    assert "token" in exc.value.message


def test_a_far_token_lock_does_not_lock_the_buyers_payment_as_long(api):
    """The seller locks the token for a year and could sit on it: the default payment lock ends
    within a day (``MAX_PAYMENT_WINDOW_S``), so a seller who never claims keeps the buyer's
    Ether that long at most (before: until T1 - 600 s, a year). A buyer may still choose a later
    T2 itself."""
    from services.exchange import seller_lock_token

    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    _, trade, buyer = start_trade(api, world.producer, world.buyer, token)
    world.registry(world.producer).approve(world.deployment.htlc.address, token)
    far = world.chain.timestamp() + 86_400  # the longest the HTLC accepts (it refused a year)
    seller_lock_token(
        world.htlc(world.producer),
        token=world.deployment.registry.address,
        token_id=token,
        buyer=world.buyer.address,
        timelock=far,
    )
    api.index()
    now = world.chain.timestamp()
    out = _payment_tx(buyer, trade)
    assert now < out["timelock"] <= now + 86_400 + 60
    chosen = far - SAFETY_MARGIN_S
    assert _payment_tx(buyer, trade, timelock=chosen)["timelock"] == chosen


def test_a_payment_lock_that_leaves_the_seller_no_time_to_claim_is_not_paid(api):
    """The buyer pays with a lock expiring 2 minutes after it is made: the seller's claim (which
    publishes the secret) could land after T2, and the buyer would refund the payment and take
    the token with the secret. The payment route refuses such a T2, and the indexer calls a lock
    made around it ``unsafe_payment`` (the seller must not claim), not ``payment_locked``."""
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    _, trade, buyer = start_trade(api, world.producer, world.buyer, token)
    offer = lock_token(api, world.producer, world.buyer, token)
    api.index()
    short = world.chain.timestamp() + 120
    with pytest.raises(MarketError) as exc:
        _payment_tx(buyer, trade, timelock=short)
    assert (exc.value.status, exc.value.code) == (422, "unsafe_timelock_order")
    world.htlc(world.buyer).lock_ether(
        world.producer.address, amount=PRICE, hashlock=offer.asset_lock.hashlock, timelock=short
    )
    api.index()
    assert _state(buyer, trade)["status"] == "unsafe_payment"


def test_a_trade_that_copies_a_public_hashlock_does_not_hide_the_real_ones_payment(api):
    """The attacker opens a trade of its own token with a sock buyer first, then copies the
    honest seller's hashlock (public once the token is locked) into its own token lock. The
    buyer's payment and the seller's claim under that hashlock must still move the honest
    trade (before: only the first trade under the hashlock was looked at, so the honest one
    stayed ``asset_locked`` though paid, and never completed)."""
    from tests.api._trading import list_token
    from tests.contracts.batch_kit import random_fingerprints

    world = api.world
    register_esp(world)
    sock = world.accounts[6]
    decoy = register_image(world, world.attacker, fingerprint=random_fingerprints(1, seed=77)[0])
    decoy_listing = list_token(api, world.attacker, decoy)
    decoy_trade = MarketClient(api.client, sock).post(
        "/v1/trades", json={"listing_id": decoy_listing["id"]}
    )
    token = register_image(world, world.producer)
    _, trade, buyer = start_trade(api, world.producer, world.buyer, token)
    assert decoy_trade["id"] < trade["id"]
    offer = lock_token(api, world.producer, world.buyer, token)
    world.registry(world.attacker).approve(world.deployment.htlc.address, decoy)
    world.htlc(world.attacker).lock_erc721(
        world.deployment.registry.address,
        sock.address,
        token_id=decoy,
        hashlock=offer.asset_lock.hashlock,
        timelock=world.chain.timestamp() + 7200,
    )
    api.index()
    assert (
        MarketClient(api.client, sock).get(f"/v1/trades/{decoy_trade['id']}")["status"]
        == "asset_locked"
    )
    nonce = world.chain.w3.eth.get_transaction_count(world.buyer.address)
    buyer.pay_trade(trade["id"], nonce=nonce)
    api.index()
    state = _state(buyer, trade)
    assert state["status"] == "payment_locked"
    payment = LockTerms.from_json(state["payment_lock"])
    seller_claim_payment(world.htlc(world.producer), payment, offer, price=PRICE)
    buyer_claim_token(world.htlc(world.buyer), payment, offer.asset_lock)
    api.index()
    assert _state(buyer, trade)["status"] == "completed"
