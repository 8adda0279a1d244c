"""Attacks on trading with two collections (the Registry and the BatchRegistry, issue 16).

* the seller's escrow approval is built for the listed collection (a batched item's approval on
  the Registry would approve nothing, or another token of the same id);
* a listing is an offer of its seller's token: once the token leaves the seller outside the
  escrow, the listing closes and is not bought meanwhile, and the token coming back does not
  revive it; a sale closes the seller's other listings of the token; a ``Transfer`` of the
  other collection's same-id token closes nothing;
* bad input (token ids at 2**256-1, a batch id or index never minted, a collection in another
  casing, garbage) is a 4xx with a stable code.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from ledger.clients.batch_registry import BatchRegistryClient
from services.market_client import MarketClient, MarketError
from tests.api._trading import list_token, sign_and_relay
from tests.api.test_batch_trades import _buy, _list, _sell
from tests.contracts.batch_kit import register_batch, tid
from tests.contracts.helpers import past_reclaim, register_esp

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _batched(world, n: int = 2) -> int:
    register_esp(world)
    batch_id, _ = register_batch(world, world.producer, n=n)
    past_reclaim(world)  # a fresh item does not move (BatchTokenReclaimable)
    return batch_id


def test_the_escrow_approval_is_built_for_the_listed_collection(api):
    world = api.world
    token = tid(_batched(world), 1)
    batch = world.deployment.batch_registry.address
    seller = MarketClient(api.client, world.producer)
    # In another casing, the deployment's BatchRegistry is still the collection.
    tx = seller.post(
        "/v1/tx/registry/approve", json={"token_id": str(token), "collection": batch.lower()}
    )
    assert tx["to"] == batch
    sign_and_relay(api, world.producer, tx)
    reader = BatchRegistryClient(world.deployment)
    approved = reader.contract.functions.getApproved(token).call()
    assert approved == world.deployment.htlc.address
    # The Registry stays the default; it has no token of that id.
    with pytest.raises(MarketError) as exc:
        seller.post("/v1/tx/registry/approve", json={"token_id": str(token)})
    assert (exc.value.status, exc.value.code) == (409, "ERC721NonexistentToken")
    with pytest.raises(MarketError) as exc:
        seller.post(
            "/v1/tx/registry/approve", json={"token_id": str(token), "collection": "0x" + "ab" * 20}
        )
    assert (exc.value.status, exc.value.code) == (422, "unknown_collection")


def test_a_listing_closes_when_its_token_leaves_the_seller_and_stays_closed(api):
    world = api.world
    token = tid(_batched(world), 0)
    listing = _list(api, world.producer, token)
    BatchRegistryClient(world.deployment, world.tx(world.producer)).transfer(
        world.attacker.address, token
    )
    # Before the indexer sees the Transfer, the route reads the owner from the chain.
    with pytest.raises(MarketError) as exc:
        _buy(api, world.buyer, listing)
    assert (exc.value.status, exc.value.code) == (409, "listing_stale")
    api.index()
    assert api.client.get(f"/v1/listings/{listing['id']}").json()["status"] == "cancelled"
    # The token comes back: the old offer (old price) is not live again.
    BatchRegistryClient(world.deployment, world.tx(world.attacker)).transfer(
        world.producer.address, token
    )
    api.index()
    assert api.client.get(f"/v1/listings/{listing['id']}").json()["status"] == "cancelled"
    with pytest.raises(MarketError) as exc:
        _buy(api, world.buyer, listing)
    assert (exc.value.status, exc.value.code) == (409, "conflict")


def test_a_sale_closes_the_sellers_other_listings_of_the_token(api):
    world = api.world
    token = tid(_batched(world), 0)
    first = _list(api, world.producer, token, nonce=1)
    cheaper = _list(api, world.producer, token, nonce=2, price=10**15)
    _sell(api, world.producer, world.buyer, first)
    assert api.client.get(f"/v1/listings/{first['id']}").json()["status"] == "sold"
    assert api.client.get(f"/v1/listings/{cheaper['id']}").json()["status"] == "cancelled"


def test_a_transfer_of_the_other_collections_same_id_token_closes_nothing(api):
    world = api.world
    token = tid(_batched(world), 0)
    listing = _list(api, world.producer, token)
    market = api.client.app.state.market
    row = {
        "contract": "Registry",
        "event": "Transfer",
        "args": {"from": world.producer.address, "to": world.attacker.address, "tokenId": token},
    }
    with Session(market.indexer.engine) as s, s.begin():
        market.trades(s, [row])
    assert api.client.get(f"/v1/listings/{listing['id']}").json()["status"] == "open"
    with Session(market.indexer.engine) as s, s.begin():
        market.trades(s, [{**row, "contract": "BatchRegistry"}])
    assert api.client.get(f"/v1/listings/{listing['id']}").json()["status"] == "cancelled"


BAD_TOKENS = [
    str(2**256 - 1),  # the largest uint256: no such token in either collection
    str(tid(7, 0)),  # a batch never minted
]


@pytest.mark.parametrize("token", BAD_TOKENS)
@pytest.mark.parametrize("path", ["/v1/tx/registry/approve", "/v1/tx/locks/token"])
def test_builders_refuse_a_token_that_was_never_minted_with_a_stable_code(api, path, token):
    world = api.world
    _batched(world)
    body = {"token_id": token, "collection": world.deployment.batch_registry.address}
    if path.endswith("token"):
        body |= {
            "receiver": world.buyer.address,
            "hashlock": "0x" + "11" * 32,
            "timelock": world.chain.timestamp() + 7200,
        }
    with pytest.raises(MarketError) as exc:
        MarketClient(api.client, world.producer).post(path, json=body)
    assert (exc.value.status, exc.value.code) == (409, "ERC721NonexistentToken")


@pytest.mark.parametrize(
    ("collection", "code"),
    [
        ("garbage", "validation_error"),
        (5, "validation_error"),
        ("0x" + "00" * 20, "unknown_collection"),
    ],
)
def test_a_garbage_collection_is_a_422(api, collection, code):
    world = api.world
    body = {"token_id": "1", "collection": collection}
    with pytest.raises(MarketError) as exc:
        MarketClient(api.client, world.producer).post("/v1/tx/registry/approve", json=body)
    assert (exc.value.status, exc.value.code) == (422, code)


def _malleated(signature: str, *, high_s: bool) -> str:
    """Another valid encoding of the same ECDSA signature: (r, n - s, v flipped), or v as 0/1."""
    raw = bytes.fromhex(signature[2:])
    if not high_s:
        return "0x" + (raw[:64] + bytes([raw[64] - 27])).hex()
    s = SECP256K1_N - int.from_bytes(raw[32:64], "big")
    return "0x" + (raw[:32] + s.to_bytes(32, "big") + bytes([55 - raw[64]])).hex()


@pytest.mark.parametrize("high_s", [True, False])
def test_a_listed_offer_is_not_listed_again_under_a_malleated_signature(api, high_s):
    """Stored in one form, a malleated signature is the listed one (a wallet writing v as 0/1
    lists like any other, in the canonical form)."""
    world = api.world
    token = tid(_batched(world), 0)
    listing = _list(api, world.producer, token)
    body = {k: listing[k] for k in ("token_id", "collection", "price", "expiry", "nonce")}
    other = _malleated(listing["signature"], high_s=high_s)
    seller = MarketClient(api.client, world.producer)
    with pytest.raises(MarketError) as exc:  # the same signed offer: already listed
        seller.post("/v1/listings", json=body | {"signature": other})
    assert (exc.value.status, exc.value.code) == (409, "conflict")
    open_ = api.client.get("/v1/listings", params={"token_id": str(token)}).json()["items"]
    assert [item["id"] for item in open_] == [listing["id"]]


@pytest.mark.parametrize(
    "signature",
    ["0x" + "ff" * 64 + "1b", "0x" + "00" * 65, "0x" + "00" * 64 + "1b", "0x" + "11" * 65],
    ids=["s-above-n", "zero", "zero-rs", "garbage-v"],
)
def test_a_signature_that_is_no_signature_is_a_422(api, signature):
    world = api.world
    token = tid(_batched(world), 0)
    body = {
        "token_id": str(token),
        "collection": world.deployment.batch_registry.address,
        "price": "1",
        "expiry": world.chain.timestamp() + 999,
        "nonce": "0",
        "signature": signature,
    }
    with pytest.raises(MarketError) as exc:
        MarketClient(api.client, world.producer).post("/v1/listings", json=body)
    assert (exc.value.status, exc.value.code) == (422, "bad_signature")


def test_a_single_copy_under_a_batchcourt_challenge_is_neither_listed_nor_bought(api):
    """A batched original challenges a later single Registry copy at the BatchCourt: the copy
    may still be revoked, so it is not listed nor bought while the dispute is open (before: the
    routes looked only at the Registry's own disputes, so the copy traded)."""
    from tests.contracts.helpers import details
    from tests.contracts.test_batch_court import _batched_original_and_single_copy, _challenge

    world = api.world
    original, pa, copy = _batched_original_and_single_copy(world, copy_detail=details()["near"])
    listing = list_token(api, world.attacker, copy)
    _challenge(world, original, pa, copy)
    api.index()
    with pytest.raises(MarketError) as exc:
        list_token(api, world.attacker, copy, nonce=2)
    assert (exc.value.status, exc.value.code) == (409, "token_not_tradable")
    assert "challenged" in exc.value.message
    with pytest.raises(MarketError) as exc:
        _buy(api, world.buyer, listing)
    assert (exc.value.status, exc.value.code) == (409, "token_not_tradable")
