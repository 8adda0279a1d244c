"""What holds a token off the market although the chain would let it be sold.

Two off-chain defences (red team 2) that listing, trade requests and payment locks check
(``routers/trades.py``) and the product page shows:

* ``attestation_mismatch``: the fingerprint or detail descriptor the API recomputed from the
  token's image bytes (attached with ``PUT /v1/products/{id}/image``, content hash checked) is
  not the attested one. A plagiarist's own ESP can attest a copy with another image's values,
  which no on-chain challenge can reach; the market does not sell it.
* ``token_reclaimable``: an earlier payer of the token's ESP can still ``reclaim`` it
  (:func:`services.exchange.reclaimable_until` over the indexed fee locks): a buyer would lose
  the token to that reclaim.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger import Asset
from ledger.deploy import Deployment
from ledger.indexer import ChainEvent
from marketplace_api.models import Listing, Product, ProductEvent, Task, Trade
from services.exchange import (
    AttestationMismatch,
    FeeLock,
    ListingState,
    TokenReclaimable,
    TradeState,
    escrow_blocks,
    reclaimable_until,
)
from services.generation import TaskState


def _window(deployment: Deployment) -> tuple[int, int]:
    """The Registry's ``registrationWindow`` and ``commitTtl`` (blocks), from the deployment."""
    params = deployment.manifest.params
    return int(params.get("registration_window_blocks", 7_200)), int(
        params.get("commit_ttl_blocks", 8)
    )


def reclaim_hold(
    session: Session, deployment: Deployment, product: Product, *, head: int, now: int
) -> int | None:
    """The last block at which an earlier payer of ``product``'s ESP could reclaim it, or None.

    Reads only the ESP's Ether locks made in the one window before the token's priority (an
    indexed block range), then their settlements and uses: the cost is the number of such
    locks, not the ESP's history."""
    if product.collection != "registry" or product.status != "active":
        return None  # only the Registry reclaims, and only an active token
    window, ttl = _window(deployment)
    # The Registry's own rule (RegistryTokenReclaimable): no token enters the swap escrow within
    # registrationWindow + commitTtl blocks of its reveal or last reclaim, by when every earlier
    # payer's window below has closed.
    opens = int(product.registered_block) + window + ttl
    if opens > head:
        return opens
    # the blocks it spent in the swap escrow extend a reclaim's window (Registry since 7e154ee)
    transfers = session.scalars(
        select(ProductEvent)
        .where(ProductEvent.token_id == product.token_id, ProductEvent.kind == "transferred")
        .order_by(ProductEvent.id)
    )
    window += escrow_blocks(
        ((int(e.block_number), str(e.data["from"]), str(e.data["to"])) for e in transfers),
        str(deployment.htlc.address),
        head=head,
    )
    locked = {
        str(args["id"]): (block, args)
        for block, args in session.execute(
            select(ChainEvent.block_number, ChainEvent.args).where(
                ChainEvent.contract == "HashTimeLock",
                ChainEvent.event == "Locked",
                ChainEvent.block_number < product.priority_block,
                ChainEvent.block_number >= head - window - ttl,
                ChainEvent.args["receiver"].as_string() == product.esp,
            )
        )
        if Asset(int(args["asset"])) is Asset.ETHER
    }
    if not locked:
        return None
    ids = list(locked)
    settled = {
        (event, str(lock_id))
        for event, lock_id in session.execute(
            select(ChainEvent.event, ChainEvent.args["id"].as_string()).where(
                ChainEvent.contract == "HashTimeLock",
                ChainEvent.event.in_(("Withdrawn", "Refunded")),
                ChainEvent.args["id"].as_string().in_(ids),
            )
        )
    }
    used = {
        str(task)
        for task in session.scalars(
            select(ChainEvent.args["taskId"].as_string()).where(
                ChainEvent.event.in_(("Registered", "BatchRegistered")),
                ChainEvent.args["taskId"].as_string().in_(ids),
            )
        )
    }
    elsewhere = _attested_elsewhere(session, product, [i for i in ids if i not in used])
    locks = [
        FeeLock(
            block=block,
            timelock=int(args["timelock"]),
            withdrawn=("Withdrawn", lock_id) in settled,
            refunded=("Refunded", lock_id) in settled,
            used=lock_id in used,
            attested_elsewhere=lock_id in elsewhere,
        )
        for lock_id, (block, args) in locked.items()
    ]
    return reclaimable_until(
        product.priority_block,
        locks,
        registration_window=window,
        commit_ttl=ttl,
        head=head,
        now=now,
    )


def _attested_elsewhere(session: Session, product: Product, ids: list[str]) -> set[str]:
    """Of the fee locks ``ids`` to ``product``'s ESP, those whose task the API delivered with the
    ESP's attestation (checked at delivery: signed by the ESP for that lock and its payer) of
    another image than ``product``'s: a reclaim with one needs the ESP to attest a second image
    to the lock. Empty when the API has seen that ESP lie once already (:func:`_untrusted`): a
    task of its whose registered token is not the image it delivered (an equivocation, proven
    by the stored attestation and the registration's event) or a fraud-proven delivery, so that
    every lock of it holds again."""
    if not ids:
        return set()
    content = product.token_id.lower()
    elsewhere = {
        str(lock_id)
        for lock_id, delivery in session.execute(
            select(Task.lock_id, Task.delivery).where(Task.lock_id.in_(ids))
        )
        if isinstance(delivery, dict)
        and str(delivery.get("content_hash", content)).lower() != content
    }
    if elsewhere and _untrusted(session, product.esp):
        return set()
    return elsewhere


def _untrusted(session: Session, esp: str) -> bool:
    """Whether the API has seen ``esp`` lie about what it attests: a delivery proven to seal
    other bytes than its attestation (``fraud_proven``), or two images attested to one lock (a
    task it delivered whose fee lock registered a token, whose id is the content hash, other
    than the delivered content hash). Reads that ESP's tasks of those states (indexed by ESP)."""
    fraud = select(Task.id).where(Task.esp == esp, Task.status == TaskState.FRAUD_PROVEN)
    # compared in the database, one row at most: the ESP's history never leaves it
    other_image = select(Task.id).where(
        Task.esp == esp,
        Task.status == TaskState.REGISTERED,
        Task.token_id.is_not(None),
        func.lower(Task.token_id) != func.lower(Task.delivery["content_hash"].as_string()),
    )
    return any(session.scalar(q.limit(1)) is not None for q in (fraud, other_image))


def withdraw_from_sale(session: Session, product: Product) -> None:
    """Takes a misattested token off the market as a revocation would: its open listings are
    ``cancelled``, and so are its trades not yet paid (a buyer who already locked a payment
    refunds it after its timelock; the payment-tx route refuses it meanwhile)."""
    for listing in session.scalars(
        select(Listing).where(
            Listing.token_id == product.token_id,
            Listing.collection == product.collection,
            Listing.status == ListingState.OPEN,
        )
    ):
        listing.status = ListingState.CANCELLED
    for trade in session.scalars(
        select(Trade).where(
            Trade.token_id == product.token_id,
            Trade.collection == product.collection,
            Trade.status.in_((TradeState.REQUESTED, TradeState.ASSET_LOCKED)),
        )
    ):
        trade.status = TradeState.CANCELLED


def check_sale_holds(session: Session, deployment: Deployment, token: int, collection: str) -> None:
    """Raises :class:`AttestationMismatch` or :class:`TokenReclaimable` (409) when ``token`` of
    ``collection`` ("registry" or "batch") must not be sold now. A token the indexer has not
    seen yet passes here: a later step (the trade request, the payment locks) checks again."""
    product = session.scalar(
        select(Product).where(
            Product.token_id == "0x" + format(token, "064x"), Product.collection == collection
        )
    )
    if product is None:
        return
    if product.attestation == "mismatch":
        raise AttestationMismatch(
            token,
            attested=product.fingerprint,
            recomputed=str(product.image_fingerprint),
        )
    chain = deployment.chain
    until = reclaim_hold(
        session, deployment, product, head=chain.w3.eth.block_number, now=chain.timestamp()
    )
    if until is not None:
        raise TokenReclaimable(token, until_block=until)
