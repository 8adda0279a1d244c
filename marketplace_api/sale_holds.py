"""What holds a token off the market although the chain would let it be sold.

Two off-chain defences (red team 2) that listing, trade requests and payment locks check
(``routers/trades.py``) and the product page shows:

* ``attestation_mismatch``: the fingerprint or detail descriptor the API recomputed from the
  token's image bytes (attached with ``PUT /v1/products/{id}/image``, content hash checked) is
  not the attested one. A plagiarist's own ESP can attest a copy with another image's values,
  which no on-chain challenge can reach; the market does not sell it.
* ``token_reclaimable``: the Registry's escrow refuses the token (``RegistryTokenReclaimable``)
  until ``registrationWindow + commitTtl`` blocks after its reveal or last reclaim (the
  indexer moves ``registered_block`` to a reclaim): an earlier payer of its ESP could still
  ``reclaim`` it from a buyer until then, and never after (below). A batch item is held the
  same, from its batch's reveal (``BatchTokenReclaimable``): an earlier payer of its ESP
  registers by then, and the court's duplicate-image ruling would revoke the item from a buyer.

Why no fee lock holds a token past that block ``R + W + T`` (``R`` its record's block, ``W`` the
registration window, ``T`` the commit TTL). A reclaim at block ``Q`` needs a priority older than
the token's. With a fee lock's block ``L < priority < R`` as priority, it committed within
``W + G`` blocks of ``L`` (``G``: the blocks the token spent in the swap escrow, which the
Registry adds) and revealed within ``T``: ``Q <= L + W + G + T < R + W + T + G``. With its own
commit block as priority, that commit precedes the token's: ``Q < R + T``. The escrow takes the
token only after ``R + W + T`` and ``reclaim`` refuses it there, so after any stay ``Q > R + W + T
+ G``: no reclaim follows a stay, ``G`` is 0 at every reclaim (a reclaim starts a new record
before any stay of it) and ``Q < R + W + T``. Until 4ab427a the API scanned the ESP's indexed
fee locks for this hold (three queries per check); that scan could no longer return a block.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.deploy import Deployment
from marketplace_api.models import Listing, Product, Trade
from services.exchange import AttestationMismatch, ListingState, TokenReclaimable, TradeState


def _window(deployment: Deployment) -> tuple[int, int]:
    """The Registry's ``registrationWindow`` and ``commitTtl`` (blocks), from the deployment."""
    params = deployment.manifest.params
    return int(params.get("registration_window_blocks", 7_200)), int(
        params.get("commit_ttl_blocks", 8)
    )


def reclaim_hold(deployment: Deployment, product: Product, *, head: int) -> int | None:
    """The last block at which an earlier payer of ``product``'s ESP could reclaim it, or
    register its image and have the court revoke a batch item (the Registry and the
    BatchRegistry refuse every move until then), or None once past it (at block ``head``)."""
    if product.status != "active":
        return None  # a revoked token is not sold anyway
    window, ttl = _window(deployment)
    opens = int(product.registered_block) + window + ttl
    return opens if opens > head else None


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
    until = reclaim_hold(deployment, product, head=deployment.chain.w3.eth.block_number)
    if until is not None:
        raise TokenReclaimable(token, until_block=until)
