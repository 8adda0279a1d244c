"""A batched item (a BatchRegistry token, issue 16) listed, bought and resold through the API.

* list, buy and resell end to end on the embedded chain: the token lock built by
  ``/v1/tx/locks/token`` for the BatchRegistry, the payment legs, and on the resale the
  BatchRegistry's ERC-2981 royalty paid to the batch's producer;
* an offer signed for one collection is refused for the other (the EIP-712 domains differ);
* a collection that is not the deployment's Registry or BatchRegistry is 422 unknown_collection;
* a seller's lock of the other collection's token of the same id is not the token (projection and
  payment route);
* a revoked batched item is neither listable nor buyable, and its open listings and unpaid trades
  close; a ``Revoked`` moves only its own collection's rows;
* rows from before the column are the Registry's (migration 0010).
"""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from ledger import LockTerms
from ledger.clients.batch_registry import BatchRegistryClient
from marketplace_api.models import Listing, Trade
from services.exchange import SAFETY_MARGIN_S, buyer_claim_token, seller_claim_payment
from services.exchange.swap import SellerOffer
from services.listing import Offer, sign_offer
from services.market_client import MarketClient, MarketError
from tests.api._trading import PRICE, sign_and_relay
from tests.contracts.attack_kit import proof
from tests.contracts.batch_kit import random_fingerprints, register_batch, tid
from tests.contracts.helpers import BASE_FP, NEAR_FP, past_reclaim, register_esp, register_image


def _batch(world) -> str:
    return world.deployment.batch_registry.address


def _list(api, seller, token, *, collection=None, sign_for=None, nonce=1, price=PRICE):
    """``seller``'s offer for ``token`` of ``collection`` (the BatchRegistry unless given),
    signed under ``sign_for``'s domain (the listed collection's unless given)."""
    world = api.world
    collection = collection or _batch(world)
    sign_for = sign_for or collection
    contract = "BatchRegistry" if sign_for == _batch(world) else "Registry"
    offer = Offer(token, seller.address, price, world.chain.timestamp() + 86400, nonce)
    sig = sign_offer(
        seller, offer, chain_id=world.chain.chain_id, registry=sign_for, contract=contract
    )
    return MarketClient(api.client, seller).post(
        "/v1/listings",
        json={
            "token_id": str(token),
            "collection": collection,
            "price": str(price),
            "expiry": offer.expiry,
            "nonce": str(nonce),
            "signature": "0x" + sig.hex(),
        },
    )


def _buy(api, buyer, listing) -> tuple[dict, MarketClient]:
    client = MarketClient(api.client, buyer)
    return client.post("/v1/trades", json={"listing_id": listing["id"]}), client


def _lock_through_api(api, seller, trade) -> SellerOffer:
    """The seller approves the escrow on the BatchRegistry and relays the token lock that
    ``/v1/tx/locks/token`` builds for the batched item."""
    world = api.world
    batch = BatchRegistryClient(world.deployment, world.tx(seller))
    world.tx(seller).send(
        batch.contract.functions.approve(world.deployment.htlc.address, int(trade["token_id"]))
    )
    secret = bytes(range(32))
    hashlock = hashlib.sha256(secret).digest()
    tx = MarketClient(api.client, seller).post(
        "/v1/tx/locks/token",
        json={
            "token_id": trade["token_id"],
            "collection": _batch(world),
            "receiver": trade["buyer"],
            "hashlock": "0x" + hashlock.hex(),
            "timelock": world.chain.timestamp() + 7200,
        },
    )
    assert tx["to"] == world.deployment.htlc.address
    sign_and_relay(api, seller, tx)
    api.index()
    state = MarketClient(api.client, seller).get(f"/v1/trades/{trade['id']}")
    assert state["status"] == "asset_locked", state
    return SellerOffer(LockTerms.from_json(state["asset_lock"]), secret)


def _sell(api, seller, buyer, listing) -> dict:
    """One whole sale of a batched listing through the API; returns the payment legs."""
    world = api.world
    trade, client = _buy(api, buyer, listing)
    assert trade["collection"] == _batch(world)
    offer = _lock_through_api(api, seller, trade)
    assert offer.asset_lock.token == _batch(world)
    out = client.post(f"/v1/trades/{trade['id']}/payment-tx", json={})
    for leg in out["locks"]:
        sign_and_relay(api, buyer, leg["tx"])
    api.index()
    state = client.get(f"/v1/trades/{trade['id']}")
    assert state["status"] == "payment_locked"
    payment = LockTerms.from_json(state["payment_lock"])
    seller_claim_payment(world.htlc(seller), payment, offer, price=int(listing["price"]))
    secret = buyer_claim_token(world.htlc(buyer), payment, offer.asset_lock)
    if state["royalty_lock"] is not None:
        world.htlc(buyer).withdraw(LockTerms.from_json(state["royalty_lock"]), secret)
    api.index()
    assert client.get(f"/v1/trades/{trade['id']}")["status"] == "completed"
    return {leg["role"]: leg for leg in out["locks"]}


def test_a_batched_item_is_listed_bought_and_resold_with_its_royalty(api):
    world = api.world
    register_esp(world)
    batch_id, _ = register_batch(world, world.producer, n=3)
    token = tid(batch_id, 1)
    past_reclaim(world)  # a fresh item does not move (BatchTokenReclaimable)
    reader = BatchRegistryClient(world.deployment)
    listing = _list(api, world.producer, token)
    assert (listing["collection"], listing["token_id"]) == (_batch(world), str(token))
    mine = api.client.get("/v1/listings", params={"collection": _batch(world).lower()}).json()
    assert [item["id"] for item in mine["items"]] == [listing["id"]]
    registry_only = api.client.get(
        "/v1/listings", params={"collection": world.deployment.registry.address}
    ).json()
    assert registry_only == {"items": []}
    legs = _sell(api, world.producer, world.buyer, listing)  # primary sale: no royalty leg
    assert set(legs) == {"payment"} and int(legs["payment"]["amount"]) == PRICE
    assert reader.owner_of(token) == world.buyer.address
    assert api.client.get(f"/v1/listings/{listing['id']}").json()["status"] == "sold"
    # The buyer resells to a third party: the producer's royalty, from the BatchRegistry.
    receiver, royalty = reader.royalty_info(token, PRICE)
    assert receiver == world.producer.address and 0 < royalty < PRICE
    resale = _list(api, world.buyer, token, nonce=2)
    producer_before = world.balance(world.producer.address)
    legs = _sell(api, world.buyer, world.attacker, resale)
    assert (legs["royalty"]["receiver"], int(legs["royalty"]["amount"])) == (
        world.producer.address,
        royalty,
    )
    assert (legs["payment"]["receiver"], int(legs["payment"]["amount"])) == (
        world.buyer.address,
        PRICE - royalty,
    )
    assert world.balance(world.producer.address) == producer_before + royalty
    assert reader.owner_of(token) == world.attacker.address
    mine = MarketClient(api.client, world.attacker).get("/v1/me/trades")["items"]
    assert mine[0]["collection"] == _batch(world)


def test_an_offer_signed_for_one_collection_is_refused_for_the_other(api):
    world = api.world
    register_esp(world)
    batch_id, _ = register_batch(world, world.producer, n=2)
    item = tid(batch_id, 0)
    single = register_image(world, world.producer)
    past_reclaim(world)  # a fresh token or item does not move (Registry/BatchTokenReclaimable)
    registry = world.deployment.registry.address
    batch = _batch(world)
    for token, listed, signed in ((item, batch, registry), (single, registry, batch)):
        with pytest.raises(MarketError) as exc:
            _list(api, world.producer, token, collection=listed, sign_for=signed)
        assert (exc.value.status, exc.value.code) == (422, "bad_signature")
    # The same bytes under their own collection are accepted; a Registry listing that names no
    # collection is the Registry's, as before batches.
    assert _list(api, world.producer, item)["collection"] == _batch(world)
    assert _list(api, world.producer, single, collection=registry)["collection"] == registry


def test_a_collection_that_is_not_the_deployments_is_refused(api):
    world = api.world
    register_esp(world)
    batch_id, _ = register_batch(world, world.producer, n=1)
    token = tid(batch_id, 0)
    fake = world.deploy_test_contract("TestERC721")
    for other in (fake, world.deployment.htlc.address):
        with pytest.raises(MarketError) as exc:
            _list(api, world.producer, token, collection=other, sign_for=_batch(world))
        assert (exc.value.status, exc.value.code) == (422, "unknown_collection")
        r = api.client.get("/v1/listings", params={"collection": other})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "unknown_collection")
        r = api.client.post(
            "/v1/tx/locks/token",
            json={
                "token_id": str(token),
                "collection": other,
                "receiver": world.buyer.address,
                "hashlock": "0x" + "11" * 32,
                "timelock": world.chain.timestamp() + 7200,
            },
            headers=api.sign_in(world.producer),
        )
        assert (r.status_code, r.json()["error"]["code"]) == (422, "unknown_collection"), r.text


def _locked_row(api, trade: dict, *, token: str) -> dict:
    """A ``Locked`` event of an ERC-721 lock of ``token``'s token with the trade's id, from the
    seller to the buyer (as the indexer hands it to the projections)."""
    lock = {
        "id": "0x" + "ab" * 32,
        "sender": trade["seller"],
        "receiver": trade["buyer"],
        "asset": 2,
        "token": token,
        "amount": int(trade["token_id"]),
        "hashlock": "0x" + "cd" * 32,
        "timelock": api.world.chain.timestamp() + 7200,
    }
    return {"contract": "HashTimeLock", "event": "Locked", "args": lock}


def test_a_lock_of_the_other_collections_same_id_token_is_not_the_token(api):
    """The trade is for batched item N; the seller locks token N of the Registry (or of a fake
    ERC-721): the projection does not call it locked, and a row an older version recorded is
    refused at payment with the token field named."""
    world = api.world
    register_esp(world)
    batch_id, _ = register_batch(world, world.producer, n=2)
    token = tid(batch_id, 0)
    past_reclaim(world)  # a fresh item does not move (BatchTokenReclaimable)
    trade, buyer = _buy(api, world.buyer, _list(api, world.producer, token))
    market = api.client.app.state.market
    registry = world.deployment.registry.address
    with Session(market.indexer.engine) as s, s.begin():
        market.trades(s, [_locked_row(api, trade, token=registry)])
    assert buyer.get(f"/v1/trades/{trade['id']}")["status"] == "requested"
    # On chain: a same-id token of a fake ERC-721, locked for the buyer.
    fake = world.deploy_test_contract("TestERC721")
    nft = world.contract("TestERC721", fake)
    world.tx(world.producer).send(nft.functions.mint(world.producer.address, token))
    world.tx(world.producer).send(nft.functions.approve(world.deployment.htlc.address, token))
    world.htlc(world.producer).lock_erc721(
        fake,
        world.buyer.address,
        token_id=token,
        hashlock=bytes(32),
        timelock=world.chain.timestamp() + 7200,
    )
    api.index()
    assert buyer.get(f"/v1/trades/{trade['id']}")["status"] == "requested"
    # A row that says "asset_locked" with the Registry's token is refused by the payment route.
    with api.client.app.state.sessions() as session:
        row = session.get(Trade, trade["id"])
        lock = _locked_row(api, trade, token=registry)["args"]
        row.asset_lock, row.asset_lock_id = lock, lock["id"]
        row.status, row.hashlock = "asset_locked", lock["hashlock"]
        session.commit()
    with pytest.raises(MarketError) as exc:
        buyer.post(f"/v1/trades/{trade['id']}/payment-tx", json={})
    assert (exc.value.status, exc.value.code) == (409, "lock_mismatch")
    assert "token" in exc.value.message


def test_a_challenged_or_revoked_batched_item_is_neither_listed_nor_bought(api):
    """A batched copy of a single registration: listed and asked for, then challenged
    (challengeWithSingle: not listable nor buyable while the dispute is open) and revoked
    (finalize). Its listing and trade close; it cannot be listed or paid."""
    world = api.world
    register_esp(world)
    single = register_image(world, world.producer, fingerprint=BASE_FP)
    batch_id, p = register_batch(
        world, world.attacker, fingerprints=[*random_fingerprints(2, seed=21), NEAR_FP]
    )
    index = p.fingerprints.index(NEAR_FP)
    copy = tid(batch_id, index)
    past_reclaim(world)  # a fresh item does not move (BatchTokenReclaimable)
    listing = _list(api, world.attacker, copy)
    trade, buyer = _buy(api, world.buyer, listing)
    batch = BatchRegistryClient(world.deployment, world.tx(world.producer))
    batch.challenge_with_single(single, proof(world, single), copy, NEAR_FP, p.fp_proof(index))
    api.index()
    # Challenged: the dispute may still revoke it, so nobody lists or buys it meanwhile.
    with pytest.raises(MarketError) as exc:
        _list(api, world.attacker, copy, nonce=4)
    assert (exc.value.status, exc.value.code) == (409, "token_not_tradable")
    assert "challenged" in exc.value.message
    with pytest.raises(MarketError) as exc:
        _buy(api, world.producer, listing)
    assert (exc.value.status, exc.value.code) == (409, "token_not_tradable")
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert batch.finalize(single, copy)
    api.index()
    assert api.client.get(f"/v1/listings/{listing['id']}").json()["status"] == "cancelled"
    assert buyer.get(f"/v1/trades/{trade['id']}")["status"] == "cancelled"
    with pytest.raises(MarketError) as exc:
        _list(api, world.attacker, copy, nonce=2)
    assert (exc.value.status, exc.value.code) == (409, "token_not_tradable")
    with pytest.raises(MarketError) as exc:
        buyer.post(f"/v1/trades/{trade['id']}/payment-tx", json={})
    assert (exc.value.status, exc.value.code) == (409, "token_not_tradable")
    sibling = tid(batch_id, (index + 1) % p.count)  # the rest of the batch still trades
    assert _list(api, world.attacker, sibling, nonce=3)["status"] == "open"


def test_a_revoked_moves_only_its_own_collections_listings_and_trades(api):
    world = api.world
    market = api.client.app.state.market
    token = "0x" + format(tid(7, 3), "064x")
    rows = {}
    with api.client.app.state.sessions() as session:
        for kind in ("registry", "batch"):
            listing = Listing(
                token_id=token,
                collection=kind,
                seller=world.producer.address,
                price=str(PRICE),
                expiry=2**40,
                nonce="1",
                signature="0x" + ("11" if kind == "registry" else "22") * 65,
                status="open",
            )
            session.add(listing)
            session.flush()
            trade = Trade(
                listing_id=listing.id,
                token_id=token,
                collection=kind,
                seller=world.producer.address,
                buyer=world.buyer.address,
                price=str(PRICE),
                status="requested",
            )
            session.add(trade)
            session.flush()
            rows[kind] = (listing.id, trade.id)
        session.commit()
    revoked = {"tokenId": tid(7, 3), "original": 1}

    def statuses(kind):
        with api.client.app.state.sessions() as session:
            listing_id, trade_id = rows[kind]
            return session.get(Listing, listing_id).status, session.get(Trade, trade_id).status

    with Session(market.indexer.engine) as s, s.begin():
        market.trades(s, [{"contract": "BatchRegistry", "event": "Revoked", "args": revoked}])
    assert statuses("batch") == ("cancelled", "cancelled")
    assert statuses("registry") == ("open", "requested")
    with Session(market.indexer.engine) as s, s.begin():
        market.trades(s, [{"contract": "Registry", "event": "Revoked", "args": revoked}])
    assert statuses("registry") == ("cancelled", "cancelled")


def test_listings_and_trades_from_before_the_column_are_the_registrys(database_url):
    from alembic import command

    from marketplace_api.migrate import alembic_config, upgrade

    url = database_url
    command.upgrade(alembic_config(url), "0009")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO listings (token_id, seller, price, expiry, nonce, signature, status) "
                "VALUES ('0x01', '0xaa', '1', 1, '1', '0xsig', 'open')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO trades (listing_id, token_id, seller, buyer, price, status) "
                "VALUES (1, '0x01', '0xaa', '0xbb', '1', 'requested')"
            )
        )
    upgrade(url)
    with engine.connect() as conn:
        for table in ("listings", "trades"):
            assert conn.execute(text(f"SELECT collection FROM {table}")).scalar_one() == "registry"
    engine.dispose()


def test_payment_timelock_margin_is_the_same_for_batched_items(api):
    """The one margin applies to a batched item's trade as to a Registry token's."""
    world = api.world
    register_esp(world)
    batch_id, _ = register_batch(world, world.producer, n=1)
    past_reclaim(world)  # a fresh item does not move (BatchTokenReclaimable)
    trade, buyer = _buy(api, world.buyer, _list(api, world.producer, tid(batch_id, 0)))
    offer = _lock_through_api(api, world.producer, trade)
    with pytest.raises(MarketError) as exc:
        buyer.post(
            f"/v1/trades/{trade['id']}/payment-tx",
            json={"timelock": offer.asset_lock.timelock - SAFETY_MARGIN_S + 1},
        )
    assert exc.value.code == "unsafe_timelock_order"


def test_a_fresh_batched_item_is_held_off_the_market_until_the_chain_lets_it_move(api):
    """A batch item does not move within ``registrationWindow + commitTtl`` blocks of its
    batch's reveal (``BatchTokenReclaimable``: an earlier payer of its ESP may still register
    the same image, and the court's duplicate ruling would revoke the item from a buyer). The
    market holds it exactly as long: 409 ``token_reclaimable`` naming the block, which the
    product page shows; the block after, it lists."""
    world = api.world
    register_esp(world)
    batch_id, _ = register_batch(world, world.producer, n=2)
    token = tid(batch_id, 0)
    api.index()
    reveal = BatchRegistryClient(world.deployment).batch(batch_id).reveal_block
    until = reveal + world.params.registration_window_blocks + world.params.commit_ttl_blocks
    product = api.client.get(f"/v1/products/{token}").json()
    assert (product["collection"], product["reclaimable_until"]) == ("batch", until)
    with pytest.raises(MarketError) as exc:
        _list(api, world.producer, token)
    assert (exc.value.status, exc.value.code) == (409, "token_reclaimable")
    assert f"until block {until}" in exc.value.message
    # the head one block short of it: a move would land at `until`, still refused
    world.chain.mine(until - 1 - world.chain.w3.eth.block_number)
    with pytest.raises(MarketError):
        _list(api, world.producer, token)
    world.chain.mine(1)  # a move now lands after it
    assert _list(api, world.producer, token)["status"] == "open"
    assert api.client.get(f"/v1/products/{token}").json()["reclaimable_until"] is None
