"""Listings and trade requests are rate limited per signed-in address (429 ``rate_limited``),
like uploads and tasks (``marketplace_api/ratelimit.py``: shared by every replica)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from marketplace_api.config import ApiSettings
from marketplace_api.main import create_app
from services.listing import Offer, sign_offer
from tests.api.conftest import Api
from tests.contracts.helpers import past_reclaim, register_esp, register_image


def _client(world, tmp_path) -> TestClient:
    settings = ApiSettings(
        database_url=f"sqlite:///{tmp_path / 'l.db'}",
        blob_dir=tmp_path / "b",
        indexer_interval_s=0,
        follow_interval_s=0,  # no follower thread on the embedded chain (tests/api/conftest.py)
        rate_listings_per_minute=2,
        rate_trades_per_minute=2,
    )
    return TestClient(create_app(settings, world.deployment))


def _offer(world, token: int, nonce: int) -> dict:
    offer = Offer(token, world.producer.address, 10**15, world.chain.timestamp() + 3600, nonce)
    sig = sign_offer(
        world.producer, offer, chain_id=world.chain.chain_id,
        registry=world.deployment.registry.address,
    )  # fmt: skip
    return {
        "token_id": str(token),
        "price": str(offer.price),
        "expiry": offer.expiry,
        "nonce": str(nonce),
        "signature": "0x" + sig.hex(),
    }


def test_listings_and_trade_requests_are_rate_limited(embedded_world, tmp_path):
    world = embedded_world
    register_esp(world)
    token = register_image(world, world.producer)
    past_reclaim(world)  # the market holds a token an earlier payer may still reclaim
    with _client(world, tmp_path) as client:
        api = Api(client, world)
        api.index()
        seller = api.sign_in(world.producer)
        listed = [
            client.post("/v1/listings", json=_offer(world, token, n), headers=seller)
            for n in range(3)
        ]
        assert [r.status_code for r in listed] == [201, 201, 429]
        assert listed[-1].json()["error"]["code"] == "rate_limited"
        assert 1 <= int(listed[-1].headers["Retry-After"]) <= 60
        assert len(client.get("/v1/listings").json()["items"]) == 2  # the third was not written
        buyers = [api.sign_in(a) for a in (world.buyer, world.attacker)]
        first, second = (r.json()["id"] for r in listed[:2])
        asked = [
            client.post("/v1/trades", json={"listing_id": first}, headers=buyers[0]),
            client.post("/v1/trades", json={"listing_id": second}, headers=buyers[0]),
            client.post("/v1/trades", json={"listing_id": second}, headers=buyers[0]),
            client.post("/v1/trades", json={"listing_id": second}, headers=buyers[1]),
        ]
    # the limit counts requests, refused ones too (409 trade_pending), per address
    assert [r.status_code for r in asked] == [201, 409, 429, 201]
    assert asked[2].json()["error"]["code"] == "rate_limited"
