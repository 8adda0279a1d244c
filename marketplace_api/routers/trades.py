"""Listings (EIP-712 signed offers) and trades (hash-time-locked swaps followed by the indexer).

A listing names its collection, the token contract: the Registry (the default) or the
deployment's BatchRegistry for a batched item (:mod:`services.exchange.collection`); its offer is
signed under that contract's EIP-712 domain. Every trade rule (the collection's token,
revocation, price and royalty legs, the one timelock margin) is :mod:`services.exchange.trade`'s;
these handlers load, call it, and answer.
"""

from __future__ import annotations

from typing import Annotated

from eth_utils import to_checksum_address
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger import HtlcClient, LockTerms
from ledger.deploy import Deployment
from ledger.indexer import ChainEvent
from marketplace_api.deps import (
    CurrentAccount,
    DeploymentDep,
    LimiterDep,
    SessionDep,
    SettingsDep,
    client_key,
)
from marketplace_api.duplicates import kept_registration, unproven_twin
from marketplace_api.errors import Conflict, Forbidden, NotFound, Unprocessable, declare
from marketplace_api.market import close_listing, payment_locks, trade_terms
from marketplace_api.models import Listing, ProductEvent, Trade
from marketplace_api.sale_holds import check_sale_holds
from marketplace_api.schemas import UnsignedTx
from marketplace_api.types import (
    UINT256_TEXT,
    UINT_PATTERN,
    Address,
    Bytes32,
    LockJson,
    TokenId,
    Uint256,
    token_hex,
)
from services.exchange import (
    Collection,
    CollectionKind,
    CollectionReader,
    LegRole,
    ListingState,
    TokenNotTradable,
    TradeState,
    TradeTerms,
    check_seller_lock,
    check_tradable,
    check_trade_state,
    collection_at,
    collection_of,
    payment_timelock,
    required_payment_locks,
    royalty_of,
)
from services.listing import Offer, canonical_signature, offer_signed_by_seller

router = APIRouter(prefix="/v1", tags=["listings", "trades"], responses=declare())
TRADE_SEEN = declare(401, 403, 404)  # a trade is seen by its seller and buyer only
Hex32 = Bytes32
ListingId = Annotated[int, Path(ge=1, lt=2**31)]
TradeId = Annotated[int, Path(ge=1, lt=2**31)]


CollectionAddress = Annotated[
    Address,
    Field(
        description="the token's contract: the Registry (the default) or the deployment's "
        "BatchRegistry for a batched item; any other address is 422 unknown_collection"
    ),
]


class ListingIn(BaseModel):
    """The EIP-712 ``Offer`` (token id, price and nonce as decimal strings; 0x-hex accepted),
    signed under the EIP-712 domain of the token's ``collection``."""

    token_id: TokenId
    collection: CollectionAddress | None = None
    price: Annotated[Uint256, Field(gt=0, lt=2**128)]
    expiry: Annotated[int, Field(gt=0, lt=2**64)]
    nonce: Annotated[Uint256, Field(ge=0, lt=2**128)]
    signature: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$")]


class ListingOut(BaseModel):
    id: int
    token_id: TokenId
    collection: CollectionAddress
    seller: str
    price: Uint256
    expiry: int
    nonce: Uint256
    signature: str
    status: ListingState


class ListingsOut(BaseModel):
    items: list[ListingOut]


class TradeIn(BaseModel):
    listing_id: Annotated[int, Field(ge=1, lt=2**31)]


class TradeOut(BaseModel):
    id: int
    listing_id: int
    token_id: TokenId
    collection: CollectionAddress
    seller: str
    buyer: str
    price: Uint256
    status: TradeState
    hashlock: str | None
    asset_lock: LockJson | None
    payment_lock: LockJson | None
    royalty_lock: LockJson | None
    secret: str | None


class PaymentTxIn(BaseModel):
    timelock: Annotated[int | None, Field(gt=0, lt=2**64)] = None
    margin: Annotated[int | None, Field(ge=0, le=30 * 86400)] = None


class PaymentLockOut(BaseModel):
    role: LegRole
    receiver: str
    amount: Uint256
    tx: UnsignedTx


class PaymentTxOut(BaseModel):
    """Every lock the buyer owes, all under the token lock's hashlock until ``timelock``."""

    trade_id: int
    hashlock: str
    timelock: int
    locks: list[PaymentLockOut]


def listing_json(item: Listing, deployment: Deployment) -> ListingOut:
    return ListingOut.model_validate(
        {
            "id": item.id,
            "token_id": item.token_id,
            "collection": collection_of(deployment, item.collection).address,
            "seller": item.seller,
            "price": item.price,
            "expiry": item.expiry,
            "nonce": item.nonce,
            "signature": item.signature,
            "status": item.status,
        }
    )


def trade_json(t: Trade, deployment: Deployment) -> TradeOut:
    payment, royalty = payment_locks(t)
    return TradeOut.model_validate(
        {
            "id": t.id,
            "listing_id": t.listing_id,
            "token_id": t.token_id,
            "collection": collection_of(deployment, t.collection).address,
            "seller": t.seller,
            "buyer": t.buyer,
            "price": t.price,
            "status": TradeState(t.status),
            "hashlock": t.hashlock,
            "asset_lock": LockJson.of(t.asset_lock),
            "payment_lock": LockJson.of(payment),
            "royalty_lock": LockJson.of(royalty),
            "secret": t.secret,
        }
    )


def _check_active(
    deployment: Deployment, session: Session, collection: Collection, token: int
) -> CollectionReader:
    """The token's reader, once the token is active with no pending challenge against it: the
    indexed ``challenged`` history (and, for a Registry token, the BatchCourt's indexed
    ``ChallengeOpened`` events) names the candidate disputes, the chain says their state; and
    with no open mis-attestation claim (409 ``misattestation_claim_open``)."""
    reader = CollectionReader(deployment, collection)
    accusers = {
        int(e.data["original"], 16)
        for e in session.scalars(
            select(ProductEvent).where(
                ProductEvent.token_id == token_hex(token), ProductEvent.kind == "challenged"
            )
        )
        if int(e.data.get("duplicate", "0x0"), 16) == token
    }
    disputes = [reader.dispute_state(original, token) for original in sorted(accusers)]
    if collection.kind is CollectionKind.REGISTRY:  # a batched original's BatchCourt challenge
        court = {
            int(args["original"])
            for args in session.scalars(
                select(ChainEvent.args).where(
                    ChainEvent.contract == "BatchCourt", ChainEvent.event == "ChallengeOpened"
                )
            )
            if int(args["duplicate"]) == token
        }
        disputes += [reader.court_dispute_state(original, token) for original in sorted(court)]
    # a mis-attestation claim: one slot per token at the court, read from the chain (not the
    # index, which may lag a poll behind), as the disputes' states are
    check_tradable(
        reader.status(token), token, disputes=disputes, claim=reader.misattestation(token)
    )
    # The second registration of an image held in both collections under one ESP: anyone may
    # have it revoked at once (BatchCourt.revokeDuplicateImage), so it is not sold.
    kept = kept_registration(session, token)
    if kept is not None:
        raise TokenNotTradable(token, f"the second registration of the image token {kept} holds")
    twin = unproven_twin(session, token)
    if twin is not None:  # the manifest that would prove it is still private
        raise TokenNotTradable(
            token,
            f"the second registration of the image token {twin} may hold (same ESP, same "
            "fingerprint, its batch manifest unpublished)",
        )
    # Off-chain holds: attested values that are not the image's, an earlier payer's reclaim.
    check_sale_holds(session, deployment, token, collection.kind.value)
    return reader


@router.post(
    "/listings",
    status_code=201,
    response_model=ListingOut,
    responses=declare(401, 403, 409, 429, 502),
)
def create_listing(
    body: ListingIn,
    request: Request,
    account: CurrentAccount,
    session: SessionDep,
    deployment: DeploymentDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> ListingOut:
    """List a token you own (of the Registry or the BatchRegistry), with your signed offer."""
    limiter.hit("listings", client_key(request), limit=settings.rate_listings_per_minute)
    token = body.token_id
    collection = collection_at(deployment, body.collection)
    offer = Offer(token, account, body.price, body.expiry, body.nonce)
    # One form per signature: a malleated copy of a listed offer's would list it twice.
    signature = canonical_signature(bytes.fromhex(body.signature[2:]))
    if not offer_signed_by_seller(  # an EOA's ECDSA, or a contract wallet's ERC-1271
        offer,
        signature,
        chain_id=deployment.chain.chain_id,
        registry=collection.address,
        contract=collection.contract,
        w3=deployment.chain.w3,
    ):
        raise Unprocessable("offer signature is not the caller's", code="bad_signature")
    if body.expiry <= deployment.chain.timestamp():
        raise Unprocessable("offer has already expired")
    if _check_active(deployment, session, collection, token).owner_of(token) != account:
        raise Forbidden("only the token's owner may list it")
    if session.scalar(select(Listing).where(Listing.signature == "0x" + signature.hex())):
        raise Conflict("this signed offer is already listed")
    item = Listing(
        token_id=token_hex(token),
        collection=collection.kind.value,
        seller=account,
        price=str(body.price),
        expiry=body.expiry,
        nonce=str(body.nonce),
        signature="0x" + signature.hex(),
        status=ListingState.OPEN,
    )
    session.add(item)
    try:
        session.commit()
    except IntegrityError:  # the same offer posted at once: the other request listed it
        session.rollback()
        raise Conflict("this signed offer is already listed") from None
    return listing_json(item, deployment)


@router.get("/listings", response_model=ListingsOut)
def list_listings(
    session: SessionDep,
    deployment: DeploymentDep,
    status: Annotated[ListingState, Query()] = ListingState.OPEN,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    token_id: Annotated[
        str | None,
        Query(pattern=UINT_PATTERN, description="decimal or 0x-hex token id"),
        UINT256_TEXT,
    ] = None,
    seller: Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$")] = None,
    collection: Annotated[
        str | None,
        Query(pattern=r"^0x[0-9a-fA-F]{40}$", description="only this collection's listings"),
    ] = None,
) -> ListingsOut:
    """Listings by status (open by default), newest first; optionally one token's, one
    seller's or one collection's (indexed columns: a product page finds its listing however
    many others are open)."""
    q = select(Listing).where(Listing.status == status)
    if collection is not None:
        q = q.where(Listing.collection == collection_at(deployment, collection).kind.value)
    if token_id is not None:
        q = q.where(Listing.token_id == token_hex(token_id))
    if seller is not None:
        q = q.where(Listing.seller == to_checksum_address(seller.lower()))
    q = q.order_by(Listing.id.desc()).limit(limit)
    return ListingsOut(items=[listing_json(item, deployment) for item in session.scalars(q)])


def _listing(session: SessionDep, listing_id: int) -> Listing:
    item = session.get(Listing, listing_id)
    if item is None:
        raise NotFound(f"no listing {listing_id}")
    return item


@router.get("/listings/{listing_id}", response_model=ListingOut, responses=declare(404))
def get_listing(
    listing_id: ListingId, session: SessionDep, deployment: DeploymentDep
) -> ListingOut:
    """One listing, whatever its status."""
    return listing_json(_listing(session, listing_id), deployment)


@router.delete(
    "/listings/{listing_id}", response_model=ListingOut, responses=declare(401, 403, 404, 409)
)
def cancel_listing(
    listing_id: ListingId, account: CurrentAccount, session: SessionDep, deployment: DeploymentDep
) -> ListingOut:
    """Withdraw your open listing."""
    item = _listing(session, listing_id)
    if item.seller != account:
        raise Forbidden("only the seller may cancel a listing")
    if item.status != ListingState.OPEN:
        raise Conflict(f"listing is {item.status}")
    close_listing(session, item, ListingState.CANCELLED)
    session.commit()
    return listing_json(item, deployment)


@router.post(
    "/trades",
    status_code=201,
    response_model=TradeOut,
    responses=declare(401, 404, 409, 429, 502),
)
def start_trade(
    body: TradeIn,
    request: Request,
    account: CurrentAccount,
    session: SessionDep,
    deployment: DeploymentDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> TradeOut:
    """Ask to buy a listing; the seller then locks the token for you (swap leg 1)."""
    limiter.hit("trades", client_key(request), limit=settings.rate_trades_per_minute)
    item = _listing(session, body.listing_id)
    if item.status != ListingState.OPEN or item.expiry <= deployment.chain.timestamp():
        raise Conflict("listing is not open")
    if item.seller == account:
        raise Conflict("you cannot buy your own listing")
    collection = collection_of(deployment, item.collection)
    owner = _check_active(deployment, session, collection, int(item.token_id, 16)).owner_of(
        int(item.token_id, 16)
    )
    if owner not in (item.seller, deployment.htlc.address):  # escrowed: locked for a trade
        raise Conflict("the seller no longer owns this token", code="listing_stale")
    _one_waiting_request(session, item, account, now=deployment.chain.timestamp())
    trade = Trade(
        listing_id=item.id,
        token_id=item.token_id,
        collection=item.collection,
        seller=item.seller,
        buyer=account,
        price=item.price,
        status=TradeState.REQUESTED,
    )
    session.add(trade)
    session.commit()
    return trade_json(trade, deployment)


def _one_waiting_request(session: Session, item: Listing, buyer: str, *, now: int) -> None:
    """One waiting request per (seller, buyer, token): the seller's lock names no trade, and the
    indexer gives it to the oldest one, which need not be the one the seller's wallet saw. A
    request whose listing has expired gives way (it ends here); a live one is 409
    ``trade_pending``. First this writes the listing's row, which holds it (PostgreSQL) or the
    database (SQLite) to the commit: a twin request racing this one (a double click) waits,
    then sees this one, instead of both being written."""
    session.execute(update(Listing).where(Listing.id == item.id).values(status=Listing.status))
    session.refresh(item)
    if item.status != ListingState.OPEN:  # closed while we read the chain
        raise Conflict("listing is not open")
    for pending, expiry in session.execute(
        select(Trade, Listing.expiry)
        .join(Listing, Listing.id == Trade.listing_id)
        .where(
            Trade.status == TradeState.REQUESTED,
            Trade.seller == item.seller,
            Trade.buyer == buyer,
            Trade.token_id == item.token_id,
            Trade.collection == item.collection,
        )
    ):
        if expiry > now:
            raise Conflict(
                f"you already asked for this token: trade {pending.id}", code="trade_pending"
            )
        pending.status = TradeState.CANCELLED


def _trade(session: SessionDep, trade_id: int, account: str) -> Trade:
    trade = session.get(Trade, trade_id)
    if trade is None:
        raise NotFound(f"no trade {trade_id}")
    if account not in (trade.seller, trade.buyer):
        raise Forbidden("only the seller and the buyer may see a trade")
    return trade


@router.get("/trades/{trade_id}", response_model=TradeOut, responses=TRADE_SEEN)
def get_trade(
    trade_id: TradeId, account: CurrentAccount, session: SessionDep, deployment: DeploymentDep
) -> TradeOut:
    """A trade's state as the chain shows it."""
    return trade_json(_trade(session, trade_id, account), deployment)


@router.post(
    "/trades/{trade_id}/payment-tx",
    response_model=PaymentTxOut,
    responses=declare(401, 403, 404, 409, 502),
)
def payment_tx(
    trade_id: TradeId,
    body: PaymentTxIn,
    account: CurrentAccount,
    session: SessionDep,
    deployment: DeploymentDep,
) -> PaymentTxOut:
    """The buyer's locks (swap leg 2): the seller's payment and, on a resale, the royalty."""
    trade = _trade(session, trade_id, account)
    if account != trade.buyer:
        raise Forbidden("only the buyer pays")
    terms: TradeTerms = trade_terms(trade)
    collection = collection_of(deployment, trade.collection)
    reader = _check_active(deployment, session, collection, terms.token_id)
    check_trade_state(trade.status, TradeState.ASSET_LOCKED)
    if trade.asset_lock is None or trade.hashlock is None:
        raise Conflict("the trade has no token lock yet")
    asset_lock = LockTerms.from_json(trade.asset_lock)
    htlc = HtlcClient(deployment)
    status = htlc.status(asset_lock)
    check_seller_lock(asset_lock, terms, token=collection.address, status=status)
    t2 = payment_timelock(
        asset_lock.timelock,
        timelock=body.timelock,
        margin=body.margin,
        now=deployment.chain.timestamp(),
    )
    hashlock = bytes.fromhex(trade.hashlock[2:])
    locks = [
        PaymentLockOut(
            role=leg.role,
            receiver=leg.receiver,
            amount=leg.amount,
            tx=UnsignedTx.of(
                deployment.chain,
                htlc.lock_ether_call(
                    leg.receiver, amount=leg.amount, hashlock=hashlock, timelock=t2
                ),
                sender=account,
            ),
        )
        for leg in required_payment_locks(terms, royalty_of(reader, terms))
    ]
    return PaymentTxOut(trade_id=trade.id, hashlock=trade.hashlock, timelock=t2, locks=locks)
