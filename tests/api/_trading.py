"""Steps of a trade through the API, as a seller's and a buyer's wallets would take them."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount

from services.exchange import SellerOffer, seller_lock_token
from services.listing import Offer, sign_offer
from services.market_client import MarketClient
from tests.contracts.helpers import past_reclaim

PRICE = 5 * 10**16


def list_token(
    api: Any,
    seller: LocalAccount,
    token: int,
    *,
    price: int = PRICE,
    nonce: int = 1,
    wait: bool = True,
):
    """The seller's signed offer, listed, once no earlier payer can reclaim the token (unless
    not ``wait``: the market holds it until then, 409 ``token_reclaimable``, as the Registry's
    escrow refuses it); returns the listing."""
    world = api.world
    if wait:
        past_reclaim(world)
    offer = Offer(token, seller.address, price, world.chain.timestamp() + 86400, nonce)
    sig = sign_offer(
        seller, offer, chain_id=world.chain.chain_id, registry=world.deployment.registry.address
    )
    return MarketClient(api.client, seller).post(
        "/v1/listings",
        json={
            "token_id": str(token),  # uint256 values travel as decimal strings
            "price": str(price),
            "expiry": offer.expiry,
            "nonce": str(nonce),
            "signature": "0x" + sig.hex(),
        },
    )


def start_trade(api: Any, seller: LocalAccount, buyer: LocalAccount, token: int, **kw: Any):
    """Lists ``token`` and asks to buy it; returns (listing, trade, the buyer's client)."""
    listing = list_token(api, seller, token, **kw)
    client = MarketClient(api.client, buyer)
    return listing, client.post("/v1/trades", json={"listing_id": listing["id"]}), client


def lock_token(
    api: Any, seller: LocalAccount, buyer: LocalAccount, token: int, *, contract: str | None = None
) -> SellerOffer:
    """The seller's token lock (swap leg 1) of ``contract`` (the Registry unless given)."""
    world = api.world
    contract = contract or world.deployment.registry.address
    if contract == world.deployment.registry.address:
        world.registry(seller).approve(world.deployment.htlc.address, token)
    return seller_lock_token(
        world.htlc(seller),
        token=contract,
        token_id=token,
        buyer=buyer.address,
        timelock=world.chain.timestamp() + 7200,
    )


def sign_and_relay(api: Any, account: LocalAccount, tx: dict[str, Any]) -> dict[str, Any]:
    """Signs an unsigned transaction the API built, as a wallet would, and relays it."""
    nonce = api.world.chain.w3.eth.get_transaction_count(account.address)
    result: dict[str, Any] = MarketClient(api.client, account).relay_signed(tx, nonce=nonce)
    return result
