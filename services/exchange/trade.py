"""The trade lifecycle: one home for every rule a marketplace sale must pass.

A sale follows a seller's EIP-712 signed offer (token id, price) through three hash-time locks
under one hashlock (DESIGN.md 3.2, trading phase)::

    requested --seller's token lock--> asset_locked --buyer's legs--> payment_locked
        (or unsafe_payment: a leg expires too close to the token lock; the buyer should refund)
    payment_locked --seller takes the payment (the secret is public)--> payment_claimed
    payment_claimed --token, payment and royalty all withdrawn--> completed
    any lock refunded --> refunded;  token revoked before the buyer paid --> cancelled
    the token withdrawn while no accepted payment exists --> off_terms (never "completed")

The rules, each checked here and nowhere else:

* the seller's lock holds THE token: an ERC-721 lock of the listing's collection (the
  deployment's Registry or its BatchRegistry: :mod:`services.exchange.collection`), that token
  id, from the seller to the buyer (:func:`check_seller_lock`); a same-id token of the other
  collection, or of any other contract, is not the token;
* a revoked token is not sold, nor one under an open challenge (open or contested: the
  dispute may still revoke it) (:func:`check_tradable`);
* the buyer pays exactly what the offer says: the seller gets the price less the ERC-2981
  royalty (the collection's own ``royaltyInfo``: a batched item's producer is paid like a
  single registration's), and on a resale (royalty receiver != seller) the receiver gets it in a
  second lock under the same hashlock, lasting at least as long as the seller's
  (:func:`required_payment_locks`, :func:`check_buyer_locks`); the seller's client claims
  only such a lock, whatever its caller passes (:func:`check_payment_lock`);
* every buyer leg expires at least :data:`SAFETY_MARGIN_S` before the token lock
  (:func:`check_timelocks`), so after the seller reveals the secret the buyer keeps that long
  to claim the token; and at least that long after it is made (:func:`check_seller_window`),
  so the seller's claim cannot be made to land after T2 (the buyer would refund and still take
  the token with the published secret);
* the payment route's default T2 ends within :data:`MAX_PAYMENT_WINDOW_S` (a seller who locks
  the token for a year and never claims does not hold the buyer's Ether that long).

The router, the indexer's trade projection, the Python swap client and the demo all call these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ledger import Asset, LockStatus, LockTerms, TokenStatus
from ledger.clients.registry import DisputeState
from services.exchange.errors import (
    LockMismatch,
    PaymentMismatch,
    TokenNotTradable,
    TradeNotReady,
    UnsafeTimelockOrder,
)

SAFETY_MARGIN_S = 600
"""Seconds every buyer lock must expire before the seller's token lock (the one margin)."""

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

PENDING_DISPUTES = frozenset({DisputeState.OPEN, DisputeState.CONTESTED})
"""Dispute states in which a challenge may still revoke its accused token."""


class TradeState(StrEnum):
    """Where a trade stands, as the chain shows it."""

    REQUESTED = "requested"
    ASSET_LOCKED = "asset_locked"
    PAYMENT_LOCKED = "payment_locked"
    UNSAFE_PAYMENT = "unsafe_payment"
    PAYMENT_CLAIMED = "payment_claimed"
    COMPLETED = "completed"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"
    OFF_TERMS = "off_terms"


class ListingState(StrEnum):
    """A listing is open until sold, withdrawn by its seller, or its token is revoked."""

    OPEN = "open"
    SOLD = "sold"
    CANCELLED = "cancelled"


class LegRole(StrEnum):
    """What a buyer's Ether lock pays: the seller's share or the producer's royalty."""

    PAYMENT = "payment"
    ROYALTY = "royalty"


@dataclass(frozen=True)
class TradeTerms:
    """What the seller's signed offer and the buyer's request fix."""

    token_id: int
    seller: str
    buyer: str
    price: int


class RoyaltySource(Protocol):
    """A collection's contract client (``RegistryClient``, ``BatchRegistryClient`` or
    :class:`~services.exchange.collection.CollectionReader`): its ERC-2981 royalty."""

    def royalty_info(self, token_id: int, price: int) -> tuple[str, int]: ...


@dataclass(frozen=True)
class Royalty:
    """The collection's ERC-2981 ``royaltyInfo(tokenId, price)``."""

    receiver: str
    amount: int


@dataclass(frozen=True)
class PaymentLeg:
    """One Ether lock the buyer owes: ``amount`` wei to ``receiver``."""

    role: LegRole
    receiver: str
    amount: int


@dataclass(frozen=True)
class BuyerPayment:
    """The buyer's locks that satisfy the offer, and whether their timelocks are safe."""

    payment: LockTerms
    royalty: LockTerms | None
    safe: bool

    @property
    def state(self) -> TradeState:
        return TradeState.PAYMENT_LOCKED if self.safe else TradeState.UNSAFE_PAYMENT

    @property
    def locks(self) -> tuple[LockTerms, ...]:
        return (self.payment,) if self.royalty is None else (self.payment, self.royalty)


def same_address(a: str, b: str) -> bool:
    return a.lower() == b.lower()


def check_timelocks(
    *, asset_timelock: int, payment_timelock: int, margin: int = SAFETY_MARGIN_S
) -> None:
    """Raises :class:`UnsafeTimelockOrder` unless ``payment_timelock <= asset_timelock - m``
    with ``m = max(margin, SAFETY_MARGIN_S)``: a caller may ask for more room, never less."""
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    margin = max(margin, SAFETY_MARGIN_S)
    if payment_timelock > asset_timelock - margin:
        raise UnsafeTimelockOrder(
            asset_timelock=asset_timelock, payment_timelock=payment_timelock, margin=margin
        )


MAX_PAYMENT_WINDOW_S = 86_400
"""The longest a buyer's payment stays locked by default (T2 - now): a seller who locks the token
until far in the future and never claims would otherwise keep the buyer's Ether that long."""


def payment_timelock(
    asset_timelock: int, *, timelock: int | None, margin: int | None, now: int | None = None
) -> int:
    """T2 for the buyer's legs: ``timelock`` if given, else ``T1 - margin``, but (given ``now``)
    no later than ``now + MAX_PAYMENT_WINDOW_S``; checked safe."""
    margin = SAFETY_MARGIN_S if margin is None else margin
    t2 = asset_timelock - margin if timelock is None else timelock
    if timelock is None and now is not None:
        t2 = min(t2, now + MAX_PAYMENT_WINDOW_S)
    check_timelocks(asset_timelock=asset_timelock, payment_timelock=t2, margin=margin)
    if now is not None:
        check_seller_window(payment_timelock=t2, locked_at=now, asset_timelock=asset_timelock)
    return t2


def check_seller_window(*, payment_timelock: int, locked_at: int, asset_timelock: int) -> None:
    """Raises :class:`UnsafeTimelockOrder` unless a payment lock made at ``locked_at`` lasts at
    least :data:`SAFETY_MARGIN_S`: a shorter one lets the seller's claim (which publishes the
    secret) land after T2, when the buyer can refund the payment and still take the token."""
    if payment_timelock < locked_at + SAFETY_MARGIN_S:
        raise UnsafeTimelockOrder(
            asset_timelock=asset_timelock,
            payment_timelock=payment_timelock,
            margin=SAFETY_MARGIN_S,
            now=locked_at,
        )


def check_tradable(
    status: TokenStatus, token_id: int, *, disputes: Iterable[DisputeState] = ()
) -> None:
    """Raises :class:`TokenNotTradable` unless the token is active (revoked copies are frozen)
    and none of the challenges against it (``disputes``: their states) is still pending: a
    buyer must not pay for a token a dispute may revoke. A rejected or void challenge no longer
    stands in the way."""
    if status is not TokenStatus.ACTIVE:
        raise TokenNotTradable(token_id, status.name.lower())
    if any(state in PENDING_DISPUTES for state in disputes):
        raise TokenNotTradable(token_id, "challenged")


def check_trade_state(state: str, *allowed: TradeState) -> TradeState:
    """The trade's state, if it is one of ``allowed``; else :class:`TradeNotReady`."""
    current = TradeState(state)
    if current not in allowed:
        raise TradeNotReady(current.value, tuple(s.value for s in allowed))
    return current


def check_seller_lock(
    lock: LockTerms, terms: TradeTerms, *, token: str, status: LockStatus | None = None
) -> None:
    """Raises :class:`LockMismatch` unless ``lock`` holds the offered token for the buyer:
    sender = seller, receiver = buyer, asset ERC-721, token contract = ``token`` (the listing's
    collection: the Registry's or the BatchRegistry's address), token id = the offer's (and,
    when ``status`` is given, the lock is still open)."""
    expected: dict[str, object] = {
        "sender": terms.seller,
        "receiver": terms.buyer,
        "asset": Asset.ERC721,
        "token": token,
        "amount": terms.token_id,
    }
    for field, value in expected.items():
        actual = getattr(lock, field)
        if isinstance(value, str) and isinstance(actual, str):
            if not same_address(actual, value):
                raise LockMismatch(field, value, actual)
        elif actual != value:
            raise LockMismatch(field, value, actual)
    if status is not None and status is not LockStatus.OPEN:
        raise LockMismatch("status", LockStatus.OPEN, status)


def royalty_of(collection: RoyaltySource, terms: TradeTerms) -> Royalty:
    """The collection's ERC-2981 royalty on this sale (receiver: the token's original producer,
    for a batched item the batch's producer)."""
    receiver, amount = collection.royalty_info(terms.token_id, terms.price)
    return Royalty(receiver, amount)


def required_payment_locks(terms: TradeTerms, royalty: Royalty) -> tuple[PaymentLeg, ...]:
    """The Ether locks the buyer owes, payment first: the seller gets ``price - royalty``; the
    royalty receiver gets its share in a lock of its own unless it is the seller (a primary
    sale by the producer pays the whole price to the seller) or the buyer (a producer buying
    its token back owes itself nothing, and the HTLC refuses self-locks)."""
    if not 0 <= royalty.amount <= terms.price:
        raise ValueError(f"royalty {royalty.amount} is outside [0, price {terms.price}]")
    if royalty.amount == 0 or same_address(royalty.receiver, terms.seller):
        return (PaymentLeg(LegRole.PAYMENT, terms.seller, terms.price),)
    payment = PaymentLeg(LegRole.PAYMENT, terms.seller, terms.price - royalty.amount)
    if same_address(royalty.receiver, terms.buyer):
        return (payment,)
    return (payment, PaymentLeg(LegRole.ROYALTY, royalty.receiver, royalty.amount))


def check_payment_lock(
    lock: LockTerms, leg: PaymentLeg, terms: TradeTerms, *, hashlock: bytes
) -> None:
    """Raises :class:`PaymentMismatch` (the first field that differs, with the expected and the
    locked value) unless ``lock`` pays ``leg`` exactly: Ether (an ERC-20 lock of the same number
    of units may be of a worthless token), from the buyer, to the leg's receiver, under
    ``hashlock`` (the token lock's), exactly the leg's amount (the seller's client claims no
    other: less sells the token for what was locked)."""
    expected: dict[str, object] = {
        "asset": Asset.ETHER,
        "sender": terms.buyer,
        "receiver": leg.receiver,
        "hashlock": hashlock,
        "amount": leg.amount,
    }
    for field, value in expected.items():
        actual = getattr(lock, field)
        if isinstance(value, str) and isinstance(actual, str):
            if not same_address(actual, value):
                raise PaymentMismatch(field, value, actual)
        elif isinstance(value, bytes) and isinstance(actual, bytes):
            if actual != value:
                raise PaymentMismatch(field, "0x" + value.hex(), "0x" + actual.hex())
        elif actual != value:
            raise PaymentMismatch(field, value, actual)


def _pays(lock: LockTerms, leg: PaymentLeg, terms: TradeTerms, hashlock: bytes) -> bool:
    try:
        check_payment_lock(lock, leg, terms, hashlock=hashlock)
    except PaymentMismatch:
        return False
    return True


def check_buyer_locks(
    locks: Iterable[LockTerms],
    terms: TradeTerms,
    royalty: Royalty,
    *,
    asset_lock: LockTerms,
    locked_at: Mapping[bytes, int] | None = None,
) -> BuyerPayment | None:
    """The buyer's locks (among ``locks``) that pay the offer exactly, or None while a leg is
    missing. A royalty lock counts only if it lasts at least as long as the seller's payment
    lock (else the seller could claim after the royalty was refunded). ``safe`` is False when a
    leg expires less than :data:`SAFETY_MARGIN_S` before the token lock, or (given
    ``locked_at``: each lock id's block time) less than that after it was made
    (:func:`check_seller_window`)."""
    candidates = list(locks)
    found: dict[LegRole, LockTerms] = {}
    for leg in required_payment_locks(terms, royalty):
        matches = [lock for lock in candidates if _pays(lock, leg, terms, asset_lock.hashlock)]
        if leg.role is LegRole.ROYALTY:
            floor = found[LegRole.PAYMENT].timelock
            matches = [lock for lock in matches if lock.timelock >= floor]
        if not matches:
            return None
        found[leg.role] = min(matches, key=lambda lock: lock.timelock)
    payment = found[LegRole.PAYMENT]
    paid = BuyerPayment(payment, found.get(LegRole.ROYALTY), safe=True)
    try:
        for lock in paid.locks:
            check_timelocks(asset_timelock=asset_lock.timelock, payment_timelock=lock.timelock)
            if locked_at is not None and lock.id in locked_at:
                check_seller_window(
                    payment_timelock=lock.timelock,
                    locked_at=locked_at[lock.id],
                    asset_timelock=asset_lock.timelock,
                )
    except UnsafeTimelockOrder:
        return BuyerPayment(paid.payment, paid.royalty, safe=False)
    return paid


def settled_state(
    current: TradeState,
    *,
    asset: LockStatus,
    payment: LockStatus | None,
    royalty: LockStatus | None,
) -> TradeState:
    """The state after a withdrawal or refund of one of the trade's locks.

    ``payment`` is None while no buyer payment was accepted; ``royalty`` is None on a primary
    sale. A trade completes only when the token, the seller's payment and the royalty have all
    been withdrawn; the token leaving while no accepted payment exists is ``off_terms``.
    """
    legs = [asset] + [s for s in (payment, royalty) if s is not None]
    if payment is None:
        if asset is LockStatus.WITHDRAWN:
            return TradeState.OFF_TERMS
        return TradeState.REFUNDED if asset is LockStatus.REFUNDED else current
    if LockStatus.REFUNDED in legs:
        return TradeState.REFUNDED
    if all(s is LockStatus.WITHDRAWN for s in legs):
        return TradeState.COMPLETED
    if payment is LockStatus.WITHDRAWN or LockStatus.WITHDRAWN in legs:
        return TradeState.PAYMENT_CLAIMED  # the secret is public
    return current
