"""Red team, round 2: a smart-contract wallet (ERC-1271) sells like any other wallet.

A wallet-native marketplace (DESIGN.md 6) lets a contract account complete every step; signing
in worked, but listing did not: the offer's signature was only ever ECDSA-recovered, so the
owner's signature for its wallet (what ``isValidSignature`` accepts) was 422 bad_signature and a
Safe-style account could never list. A signature the wallet refuses stays refused, and nobody
else lists the wallet's token with it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from eth_account.messages import encode_defunct

from services import siwe
from services.listing import Offer, sign_offer
from tests.api._trading import PRICE
from tests.contracts.helpers import past_reclaim, register_esp, register_image


def _sign_in_wallet(api, wallet, owner) -> dict[str, str]:
    now = datetime.now(UTC).replace(microsecond=0)
    text = siwe.SiweMessage(
        domain="localhost:8000",
        address=wallet,
        statement=None,
        uri="http://localhost:8000",
        version="1",
        chain_id=api.chain_id,
        nonce=api.nonce(),
        issued_at=now,
        expiration_time=now + timedelta(minutes=10),
    ).to_text()
    raw = bytes(owner.sign_message(encode_defunct(text=text)).signature)
    r = api.client.post("/v1/auth/verify", json={"message": text, "signature": "0x" + raw.hex()})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _listing(api, wallet, token, signer, *, nonce=1) -> dict:
    world = api.world
    offer = Offer(token, wallet, PRICE, world.chain.timestamp() + 86400, nonce)
    sig = sign_offer(
        signer, offer, chain_id=world.chain.chain_id, registry=world.deployment.registry.address
    )
    return {
        "token_id": str(token),
        "price": str(PRICE),
        "expiry": offer.expiry,
        "nonce": str(nonce),
        "signature": "0x" + sig.hex(),
    }


@pytest.fixture
def wallet_token(api):
    world = api.world
    register_esp(world)
    wallet = world.deploy_test_contract("OwnedWallet1271", world.producer.address)
    token = register_image(world, world.producer)
    past_reclaim(world)  # a fresh token does not move (RegistryTokenReclaimable)
    world.registry(world.producer).transfer(wallet, token)
    return wallet, token


def test_a_contract_wallet_lists_with_its_owners_signature(api, wallet_token):
    wallet, token = wallet_token
    headers = _sign_in_wallet(api, wallet, api.world.producer)
    r = api.client.post(
        "/v1/listings", json=_listing(api, wallet, token, api.world.producer), headers=headers
    )
    assert r.status_code == 201, r.text
    assert (r.json()["seller"], r.json()["status"]) == (wallet, "open")


def test_a_signature_the_wallet_refuses_is_refused_and_lists_nothing(api, wallet_token):
    wallet, token = wallet_token
    headers = _sign_in_wallet(api, wallet, api.world.producer)
    forged = _listing(api, wallet, token, api.world.attacker)  # not the wallet's owner
    r = api.client.post("/v1/listings", json=forged, headers=headers)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "bad_signature")
    # The owner's own account cannot list the wallet's token with the wallet's offer either.
    r = api.client.post(
        "/v1/listings",
        json=_listing(api, wallet, token, api.world.producer, nonce=2),
        headers=api.sign_in(api.world.producer),
    )
    assert r.status_code == 422
    assert api.client.get("/v1/listings").json()["items"] == []
