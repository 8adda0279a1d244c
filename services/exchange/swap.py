"""Hash-time-locked swaps of a registered image token for Ether, on one chain or two.

Protocol (DESIGN.md 3.2, trading phase; the rules live in :mod:`services.exchange.trade`):

1. the seller makes a secret ``s'`` and locks the token for the buyer under ``sha256(s')`` until T1;
2. the buyer checks that lock on chain (the collection's token, that id, for the buyer, open), then
   locks the price for the seller under the same hashlock until T2 with
   ``T2 <= T1 - SAFETY_MARGIN_S``; on a resale the price is split: the seller's lock carries the
   price less the ERC-2981 royalty and a second lock carries the royalty to the producer
   (:func:`buyer_pay`);
3. the seller withdraws the price, which publishes ``s'`` (so only from a lock that pays it
   exactly its share, in Ether, from the buyer, under that hashlock: :func:`seller_claim_payment`);
   the buyer reads it and withdraws the token (and anyone may then withdraw the royalty lock to
   the producer with ``s'``);
4. if either side stalls, the other refunds after its own timelock.

Because T2 comes first, the seller must reveal ``s'`` before T2, and the buyer then still has at
least the margin before T1 to claim the token. Each side signs with its own key; the two legs may
live on different chains (pass two clients).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger import (
    Asset,
    HtlcClient,
    LockStatus,
    LockTerms,
    RegistryClient,
    TokenStatus,
    new_secret,
)
from ledger.clients.batch_registry import BatchRegistryClient
from ledger.clients.registry import DisputeState
from services.exchange.collection import (
    CollectionReader,
    collection_at,
    disputes_against,
    misattestation_of,
)
from services.exchange.errors import (
    ClaimTooLate,
    ClaimWindowClosed,
    LockMismatch,
    SecretNotRevealed,
)
from services.exchange.trade import (
    SAFETY_MARGIN_S,
    BuyerPayment,
    TradeTerms,
    check_buyer_locks,
    check_payment_lock,
    check_seller_lock,
    check_timelocks,
    check_tradable,
    required_payment_locks,
    royalty_of,
    same_address,
)
from services.generation.lifecycle import SECONDS_PER_BLOCK

CLAIM_MARGIN_S = 60
"""Seconds a seller's claim needs before the payment lock expires (a few blocks to be mined)."""

CLAIM_MARGIN_BLOCKS = CLAIM_MARGIN_S // SECONDS_PER_BLOCK
"""Blocks a claim needs before its lock's claim window closes: the same time as
:data:`CLAIM_MARGIN_S` at Ethereum's 12 s slot, five blocks. A claim is estimated against one
block and mined in a later one (the next slot, or several while the market is busy or the user
reads the wallet's prompt); five blocks is a minute of that, a small share of any claim window
(the tests' 36 blocks, the product's 6,480)."""

DEFAULT_MARGIN = SAFETY_MARGIN_S  # the one margin, under its older name

# The collection a swap trades: the Registry's or the BatchRegistry's client, or their reader.
CollectionClient = RegistryClient | BatchRegistryClient | CollectionReader


def _status(collection: CollectionClient, token_id: int) -> TokenStatus:
    if isinstance(collection, RegistryClient):
        return collection.record(token_id).status
    return collection.status(token_id)


def _disputes(collection: CollectionClient, token_id: int) -> tuple[DisputeState, ...]:
    if isinstance(collection, CollectionReader):
        return collection.disputes_against(token_id)
    return disputes_against(collection, token_id)


@dataclass(frozen=True)
class SellerOffer:
    """The seller's half: the token lock and the secret that opens both locks."""

    asset_lock: LockTerms
    secret: bytes


def seller_lock_token(
    seller: HtlcClient, *, token: str, token_id: int, buyer: str, timelock: int
) -> SellerOffer:
    """Step 1: a fresh secret, and the token locked for ``buyer`` until ``timelock`` (T1)."""
    secret, hashlock = new_secret()
    lock = seller.lock_erc721(token, buyer, token_id=token_id, hashlock=hashlock, timelock=timelock)
    return SellerOffer(lock, secret)


def buyer_lock_payment(
    buyer: HtlcClient,
    asset_lock: LockTerms,
    *,
    token: str,
    token_id: int,
    price: int,
    timelock: int,
    margin: int = SAFETY_MARGIN_S,
) -> LockTerms:
    """Step 2 with one leg: verify the seller's lock on chain (``token`` is the collection's
    address: the Registry's or the BatchRegistry's), then lock ``price`` for the seller until
    T2. A resale owes a royalty lock too: use :func:`buyer_pay`."""
    terms = TradeTerms(token_id, asset_lock.sender, buyer.tx.address, price)
    check_seller_lock(asset_lock, terms, token=token, status=buyer.status(asset_lock))
    check_timelocks(asset_timelock=asset_lock.timelock, payment_timelock=timelock, margin=margin)
    return buyer.lock_ether(
        asset_lock.sender, amount=price, hashlock=asset_lock.hashlock, timelock=timelock
    )


def buyer_pay(
    buyer: HtlcClient,
    registry: CollectionClient,
    asset_lock: LockTerms,
    *,
    seller: str,
    token_id: int,
    price: int,
    timelock: int,
) -> BuyerPayment:
    """Step 2 in full: check the token is active with no pending challenge against it (the API's
    rule: a dispute may still revoke it) and the seller's lock holds it, then lock every leg the
    offer requires (the seller's share, and the royalty on a resale) until T2. ``registry`` is
    the token's collection (the Registry's or the BatchRegistry's client)."""
    terms = TradeTerms(token_id, seller, buyer.tx.address, price)
    status = _status(registry, token_id)
    check_tradable(status, token_id)  # a revoked token needs no log search
    check_tradable(
        status,
        token_id,
        disputes=_disputes(registry, token_id),
        claim=misattestation_of(registry.deployment, token_id),
    )
    check_seller_lock(asset_lock, terms, token=registry.address, status=buyer.status(asset_lock))
    check_timelocks(asset_timelock=asset_lock.timelock, payment_timelock=timelock)
    royalty = royalty_of(registry, terms)
    locks = [
        buyer.lock_ether(
            leg.receiver, amount=leg.amount, hashlock=asset_lock.hashlock, timelock=timelock
        )
        for leg in required_payment_locks(terms, royalty)
    ]
    paid = check_buyer_locks(locks, terms, royalty, asset_lock=asset_lock)
    if paid is None:  # cannot happen: the legs were built from the same rule
        raise LockMismatch("payment", required_payment_locks(terms, royalty), locks)
    return paid


def seller_claim_payment(
    seller: HtlcClient,
    payment_lock: LockTerms,
    offer: SellerOffer,
    *,
    price: int,
    registry: CollectionClient | None = None,
) -> None:
    """Step 3a: the seller takes the price, publishing the secret (with which the buyer takes
    the token), so the payment lock is checked first, on every call (the JS SDK's
    ``claimPayment`` rule): it must pay the seller exactly its share of ``price`` (the offer's
    price, less the collection's ERC-2981 royalty on a resale, as :func:`required_payment_locks`
    says), in Ether, from the buyer, under the token lock's hashlock; else
    :class:`PaymentMismatch` (the field, the expected and the locked value) and the secret is
    kept. The royalty is read from ``registry``, the token's collection (its address must be
    the token lock's contract); by default from the seller's own deployment, which must hold
    the token lock (on a two-chain swap pass the token chain's collection). A claim that fails
    on chain has still published the secret (the buyer takes the token and refunds the price at
    T2), so it is sent only if it lands in time (:func:`check_claim_in_time`): not when the
    payment lock expires within :data:`CLAIM_MARGIN_S` (:class:`ClaimTooLate`), nor when its
    claim window (the lock's block + the HTLC's ``claimWindow``, read from the chain) closes
    within :data:`CLAIM_MARGIN_BLOCKS` blocks of the head (:class:`ClaimWindowClosed`, with the
    last claimable block and the head)."""
    if price <= 0:
        raise ValueError(f"price must be > 0, got {price}")
    token_lock = offer.asset_lock
    collection = _collection_of(seller, token_lock) if registry is None else registry
    if not same_address(collection.address, token_lock.token):
        raise LockMismatch("token", collection.address, token_lock.token)
    terms = TradeTerms(token_lock.amount, token_lock.sender, token_lock.receiver, price)
    share = required_payment_locks(terms, royalty_of(collection, terms))[0]
    check_payment_lock(payment_lock, share, terms, hashlock=token_lock.hashlock)
    check_claim_in_time(seller, payment_lock)
    seller.withdraw(payment_lock, offer.secret)


def check_claim_window(
    htlc: HtlcClient, lock: LockTerms, *, margin: int = CLAIM_MARGIN_BLOCKS
) -> int | None:
    """The last block a withdrawal of ``lock`` is accepted in (its block + the HashTimeLock's
    ``claimWindow``, both read from the chain), or None where no window applies: an ERC-721
    lock, or a lock not open (never made, settled: the estimate refuses it, ``LockNotOpen``).
    Raises :class:`ClaimWindowClosed` when fewer than ``margin`` blocks of the window are left
    after the head (``head + margin > last``): the claim could be mined past the window, where
    it fails but has published its secret."""
    return check_claim_windows(htlc, [lock], margin=margin)[0]


def check_claim_windows(
    htlc: HtlcClient, locks: list[LockTerms], *, margin: int = CLAIM_MARGIN_BLOCKS
) -> list[int | None]:
    """:func:`check_claim_window` for each lock (a batch withdrawal settles all or none, so one
    lock past its window reverts the whole transaction and publishes *every* preimage in it):
    each lock's last claimable block or None, reading ``claimWindow`` and the head once and one
    ``lockInfo`` per Ether or ERC-20 lock; raises :class:`ClaimWindowClosed` for the first lock
    within ``margin`` blocks of its window's end."""
    window: int | None = None
    head = 0
    lasts: list[int | None] = []
    for lock in locks:
        last = None
        if lock.asset is not Asset.ERC721:
            status, locked_at = htlc.lock_info(lock.id)
            if status is LockStatus.OPEN:
                if window is None:
                    window = htlc.claim_window()
                    head = htlc.deployment.chain.w3.eth.block_number
                last = locked_at + window
                if head + margin > last:
                    raise ClaimWindowClosed(last_block=last, block=head, margin=margin)
        lasts.append(last)
    return lasts


def check_claim_in_time(
    htlc: HtlcClient,
    lock: LockTerms,
    *,
    margin_s: int = CLAIM_MARGIN_S,
    margin_blocks: int = CLAIM_MARGIN_BLOCKS,
) -> int | None:
    """The rule for whoever claims a lock with its own secret (the seller's payment, an ESP's
    generation fee): the withdrawal publishes the secret in its calldata even if it fails, so it
    is sent only if it will land in time. Refused (nothing sent) when the lock expires within
    ``margin_s`` seconds of the chain's time (:class:`ClaimTooLate`) or its claim window closes
    within ``margin_blocks`` blocks of the head (:class:`ClaimWindowClosed`, see
    :func:`check_claim_window`); returns the last claimable block (None: no window applies)."""
    now = htlc.deployment.chain.timestamp()
    if lock.timelock < now + margin_s:
        raise ClaimTooLate(payment_timelock=lock.timelock, now=now, margin=margin_s)
    return check_claim_window(htlc, lock, margin=margin_blocks)


def _collection_of(seller: HtlcClient, token_lock: LockTerms) -> CollectionReader:
    """The collection of the token lock's contract in the seller's deployment, read only when
    that deployment holds the token lock (else the token lives on another chain, whose
    same-address contract here could answer another royalty)."""
    if seller.status(token_lock) is LockStatus.NONE:
        raise ValueError(
            "registry: the token lock is not on the seller's chain; pass the token chain's "
            "collection (registry=)"
        )
    deployment = seller.deployment
    return CollectionReader(deployment, collection_at(deployment, token_lock.token))


def buyer_claim_token(buyer: HtlcClient, payment_lock: LockTerms, asset_lock: LockTerms) -> bytes:
    """Step 3b: the buyer reads the secret from the payment's withdrawal and takes the token."""
    secret = buyer.revealed_preimage(payment_lock)
    if secret is None:
        raise SecretNotRevealed("the seller has not withdrawn the payment yet")
    buyer.withdraw(asset_lock, secret)
    return secret
