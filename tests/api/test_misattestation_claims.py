"""A mis-attestation claim at the BatchCourt, as the market shows it and as its sale path obeys it.

The attack (before): a plagiarist lists its copy, attested by its own ESP with another image's
values; the victim claims it mis-attested at the court. The API indexed neither
``MisattestationClaimed`` nor ``MisattestationDecided``, so ``GET /v1/products/{id}`` said
nothing (only the web page with a connected wallet read the claim from the chain), and the
trade request and the payment locks went through: a buyer paid for the copy, the jurors upheld
the claim days later, and the court revoked the buyer's token. Now the product and batch item
views carry the claim (state, round, claimant, review deadline) from the index, and the sale
path refuses a token under an open claim (409 ``misattestation_claim_open``, read from the chain
as an open challenge's state is), before the trade request and again at the payment locks."""

from __future__ import annotations

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from ledger.clients.batch_court import BatchCourtClient
from ledger.clients.registry import DisputeState, TokenStatus
from ledger.indexer import ChainEvent
from services.market_client import MarketClient, MarketError
from tests.api._trading import list_token, lock_token
from tests.api.test_committee_flow import committee_api
from tests.contracts.committee_kit import CommitteeWorld, committee_world
from tests.contracts.misattestation_kit import (
    MANIFESTS,
    Images,
    camera,
    claim,
    claim_item,
    copy_of,
    finalize,
    honest_votes,
    misattested_batch_item,
    misattested_single,
    png,
)

CODE = "misattestation_claim_open"


@pytest.fixture
def committee(embedded_chain) -> CommitteeWorld:
    yield from committee_world(embedded_chain)


@pytest.fixture
def api(committee, tmp_path, api_database_url):
    yield from committee_api(committee, tmp_path, api_database_url)


def _buy(api, listing) -> dict:
    return MarketClient(api.client, api.world.buyer).post(
        "/v1/trades", json={"listing_id": listing["id"]}
    )


def test_a_token_under_an_open_claim_is_shown_and_not_bought_then_revoked(api, committee):
    world = api.world
    token = misattested_single(committee)
    listing = list_token(api, world.attacker, token)
    api.index()
    assert api.client.get(f"/v1/products/{token}").json()["misattestation"] is None
    key = claim(committee, token, world.producer)
    api.index()
    product = api.client.get(f"/v1/products/{token}").json()
    review = committee.committee().review(key)
    assert product["misattestation"] == {
        "state": "open",
        "round": 1,
        "claimant": world.producer.address,
        "esp": world.accounts[8].address,
        "claimed_block": product["misattestation"]["claimed_block"],
        "claim_tx": product["misattestation"]["claim_tx"],
        "review": "drawn",
        "review_deadline": review.reveal_deadline,
        "decided_block": None,
    }
    assert "misattestation_claimed" in [h["kind"] for h in product["history"]]

    # the attack: a buyer without a wallet asks for the listed copy (201 before) and pays
    with pytest.raises(MarketError) as exc:
        _buy(api, listing)
    assert (exc.value.status, exc.value.code) == (409, CODE), exc.value.message
    with pytest.raises(MarketError) as exc:  # nor is it listed again meanwhile
        list_token(api, world.attacker, token, nonce=2, wait=False)
    assert (exc.value.status, exc.value.code) == (409, CODE)

    # what the buyer would have lost: the jurors uphold the claim, the court revokes the copy
    committee.vote(
        key, honest_votes(committee, key, token, Images({token: png(copy_of(camera()))}))
    )
    assert finalize(committee, token, world.producer) is DisputeState.UPHELD
    assert world.registry(world.deployer).record(token).status is TokenStatus.REVOKED
    api.index()
    product = api.client.get(f"/v1/products/{token}").json()
    assert product["status"] == "revoked"
    assert product["misattestation"]["state"] == "upheld"
    assert product["misattestation"]["decided_block"] is not None
    decided = [h for h in product["history"] if h["kind"] == "misattestation_decided"]
    assert [h["verdict"] for h in decided] == ["upheld"]


def test_a_claim_opened_after_the_trade_request_stops_the_payment_locks(api, committee):
    """The buyer asked before the claim and the seller locked the token: the payment locks
    are refused once the claim is open, read from the chain (not indexed yet here)."""
    world = api.world
    token = misattested_single(committee)
    listing = list_token(api, world.attacker, token)
    api.index()
    trade = _buy(api, listing)
    lock_token(api, world.attacker, world.buyer, token)
    api.index()
    buyer = MarketClient(api.client, world.buyer)
    assert buyer.get(f"/v1/trades/{trade['id']}")["status"] == "asset_locked"
    claim(committee, token, world.producer, draw=False)
    with pytest.raises(MarketError) as exc:
        buyer.post(f"/v1/trades/{trade['id']}/payment-tx", json={})
    assert (exc.value.status, exc.value.code) == (409, CODE), exc.value.message


def test_a_batch_items_claim_is_on_the_batch_view_and_a_reorg_takes_it_back(api, committee):
    world = api.world
    item = misattested_batch_item(committee)
    api.index()
    batch_id, index = item.token_id >> 32, item.token_id & 0xFFFFFFFF
    r = api.client.post(
        f"/v1/batches/{batch_id}/manifest",
        json=MANIFESTS[item.token_id],
        headers=api.sign_in(world.attacker),
    )
    assert r.status_code == 200, r.text
    claim_item(committee, item, world.producer, draw=False)
    assert BatchCourtClient(world.deployment).misattestation(item.token_id).round == 1
    api.index()
    items = api.client.get(f"/v1/batches/{batch_id}").json()["items"]
    shown = items[index]["misattestation"]
    assert (shown["state"], shown["round"], shown["review"], shown["review_deadline"]) == (
        "open",
        1,
        "requested",
        None,
    )
    assert items[1 - index]["misattestation"] is None
    product = api.client.get(f"/v1/products/{item.token_id}").json()
    assert product["misattestation"] == shown

    # a reorg drops the claim's block: the claim goes with it (rebuilt from the events left)
    market = api.client.app.state.market
    ancestor = shown["claimed_block"] - 1
    with Session(market.indexer.engine) as session, session.begin():
        session.execute(delete(ChainEvent).where(ChainEvent.block_number > ancestor))
        market._rewind(session, ancestor)
    market.read_cache.clear()
    assert api.client.get(f"/v1/products/{item.token_id}").json()["misattestation"] is None
