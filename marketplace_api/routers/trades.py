"""Listings (EIP-712 signed offers) and trades (hash-time-locked swaps followed by the indexer)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from ledger import RegistryClient, TokenStatus
from marketplace_api.deps import CurrentAccount, DeploymentDep, SessionDep
from marketplace_api.errors import Conflict, Forbidden, NotFound, Unprocessable
from marketplace_api.models import Listing, Trade
from marketplace_api.schemas import UnsignedTx
from marketplace_api.types import Bytes32
from services.exchange import DEFAULT_MARGIN, UnsafeTimelockOrder, check_timelocks
from services.listing import Offer, offer_signer

router = APIRouter(prefix="/v1", tags=["listings", "trades"])
Hex32 = Bytes32


class ListingIn(BaseModel):
    token_id: Hex32
    price: Annotated[int, Field(gt=0, lt=2**128)]
    expiry: Annotated[int, Field(gt=0, lt=2**64)]
    nonce: Annotated[int, Field(ge=0, lt=2**128)]
    signature: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$")]


class TradeIn(BaseModel):
    listing_id: Annotated[int, Field(ge=1, lt=2**31)]


class PaymentTxIn(BaseModel):
    timelock: Annotated[int | None, Field(gt=0, lt=2**64)] = None
    margin: Annotated[int, Field(ge=60, le=30 * 86400)] = DEFAULT_MARGIN


def listing_json(item: Listing) -> dict[str, Any]:
    return {
        "id": item.id,
        "token_id": item.token_id,
        "seller": item.seller,
        "price": item.price,
        "expiry": item.expiry,
        "nonce": item.nonce,
        "signature": item.signature,
        "status": item.status,
    }


def trade_json(t: Trade) -> dict[str, Any]:
    return {
        "id": t.id,
        "listing_id": t.listing_id,
        "token_id": t.token_id,
        "seller": t.seller,
        "buyer": t.buyer,
        "price": t.price,
        "status": t.status,
        "hashlock": t.hashlock,
        "asset_lock": t.asset_lock,
        "payment_lock": t.payment_lock,
        "secret": t.secret,
    }


@router.post("/listings", status_code=201)
def create_listing(
    body: ListingIn, account: CurrentAccount, session: SessionDep, deployment: DeploymentDep
) -> dict[str, Any]:
    """List a token you own, with your EIP-712 signed offer."""
    token = int(body.token_id, 16)
    offer = Offer(token, account, body.price, body.expiry, body.nonce)
    signer = offer_signer(
        offer,
        bytes.fromhex(body.signature[2:]),
        chain_id=deployment.chain.chain_id,
        registry=deployment.registry.address,
    )
    if signer != account:
        raise Unprocessable("offer signature does not recover to the caller", code="bad_signature")
    if body.expiry <= deployment.chain.timestamp():
        raise Unprocessable("offer has already expired")
    reader = RegistryClient(deployment)
    record = reader.record(token)
    if record.status is not TokenStatus.ACTIVE:
        raise Conflict(f"token is {record.status.name.lower()}: only active tokens can be listed")
    if reader.owner_of(token) != account:
        raise Forbidden("only the token's owner may list it")
    if session.scalar(select(Listing).where(Listing.signature == body.signature.lower())):
        raise Conflict("this signed offer is already listed")
    item = Listing(
        token_id=body.token_id.lower(),
        seller=account,
        price=str(body.price),
        expiry=body.expiry,
        nonce=str(body.nonce),
        signature=body.signature.lower(),
        status="open",
    )
    session.add(item)
    session.commit()
    return listing_json(item)


@router.get("/listings")
def list_listings(
    session: SessionDep,
    status: Annotated[str, Query(pattern="^(open|sold|cancelled)$")] = "open",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Listings by status (open by default), newest first."""
    q = select(Listing).where(Listing.status == status).order_by(Listing.id.desc()).limit(limit)
    return {"items": [listing_json(item) for item in session.scalars(q)]}


@router.delete("/listings/{listing_id}")
def cancel_listing(
    listing_id: Annotated[int, Path(ge=1, lt=2**31)], account: CurrentAccount, session: SessionDep
) -> dict[str, Any]:
    """Withdraw your open listing."""
    item = session.get(Listing, listing_id)
    if item is None:
        raise NotFound(f"no listing {listing_id}")
    if item.seller != account:
        raise Forbidden("only the seller may cancel a listing")
    if item.status != "open":
        raise Conflict(f"listing is {item.status}")
    item.status = "cancelled"
    session.commit()
    return listing_json(item)


@router.post("/trades", status_code=201)
def start_trade(
    body: TradeIn, account: CurrentAccount, session: SessionDep, deployment: DeploymentDep
) -> dict[str, Any]:
    """Ask to buy a listing; the seller then locks the token for you (swap leg 1)."""
    item = session.get(Listing, body.listing_id)
    if item is None:
        raise NotFound(f"no listing {body.listing_id}")
    if item.status != "open" or item.expiry <= deployment.chain.timestamp():
        raise Conflict("listing is not open")
    if item.seller == account:
        raise Conflict("you cannot buy your own listing")
    trade = Trade(
        listing_id=item.id,
        token_id=item.token_id,
        seller=item.seller,
        buyer=account,
        price=item.price,
        status="requested",
    )
    session.add(trade)
    session.commit()
    return trade_json(trade)


def _trade(session: SessionDep, trade_id: int, account: str) -> Trade:
    trade = session.get(Trade, trade_id)
    if trade is None:
        raise NotFound(f"no trade {trade_id}")
    if account not in (trade.seller, trade.buyer):
        raise Forbidden("only the seller and the buyer may see a trade")
    return trade


@router.get("/trades/{trade_id}")
def get_trade(
    trade_id: Annotated[int, Path(ge=1, lt=2**31)], account: CurrentAccount, session: SessionDep
) -> dict[str, Any]:
    """A trade's state as the chain shows it."""
    return trade_json(_trade(session, trade_id, account))


@router.post("/trades/{trade_id}/payment-tx", response_model=UnsignedTx)
def payment_tx(
    trade_id: Annotated[int, Path(ge=1, lt=2**31)],
    body: PaymentTxIn,
    account: CurrentAccount,
    session: SessionDep,
    deployment: DeploymentDep,
) -> UnsignedTx:
    """The buyer's payment lock (swap leg 2), only with a timelock safely before the token's."""
    trade = _trade(session, trade_id, account)
    if account != trade.buyer:
        raise Forbidden("only the buyer pays")
    if trade.status != "asset_locked" or trade.asset_lock is None or trade.hashlock is None:
        raise Conflict(f"trade is {trade.status}: wait until the seller's token lock is on chain")
    t1 = int(trade.asset_lock["timelock"])
    t2 = body.timelock if body.timelock is not None else t1 - body.margin
    try:
        check_timelocks(asset_timelock=t1, payment_timelock=t2, margin=body.margin)
    except UnsafeTimelockOrder as exc:
        raise Unprocessable(str(exc), code="unsafe_timelock_order") from None
    fn = deployment.htlc.functions.lockEther(trade.seller, bytes.fromhex(trade.hashlock[2:]), t2)
    return UnsignedTx.for_call(deployment.chain, fn, sender=account, value=int(trade.price))
