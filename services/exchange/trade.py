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
  dispute may still revoke it), nor one under an open mis-attestation claim at the BatchCourt
  (upheld, it revokes the token) (:func:`check_tradable`);
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

The router, the indexer's trade projection, the Python swap client and the demo all call these,
through this module: the states and the token's rules are here; the timing rules
(:mod:`services.exchange._timelocks`), the payment rules (:mod:`services.exchange._payment`) and
the shared vocabulary (:mod:`services.exchange._terms`) are re-exported from here.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger import Asset, LockStatus, LockTerms, TokenStatus
from ledger.clients.batch_court import Misattestation
from ledger.clients.registry import DisputeState
from services.exchange._payment import (
    BuyerPayment,
    LegRole,
    PaymentLeg,
    Royalty,
    RoyaltySource,
    check_buyer_locks,
    check_payment_lock,
    required_payment_locks,
    royalty_of,
)
from services.exchange._terms import ListingState, TradeState, TradeTerms, same_address
from services.exchange._timelocks import (
    MAX_PAYMENT_WINDOW_S,
    SAFETY_MARGIN_S,
    check_seller_window,
    check_timelocks,
    payment_timelock,
)
from services.exchange.errors import (
    LockMismatch,
    MisattestationClaimOpen,
    TokenNotTradable,
    TradeNotReady,
)

__all__ = [
    "MAX_PAYMENT_WINDOW_S",
    "PENDING_DISPUTES",
    "SAFETY_MARGIN_S",
    "ZERO_ADDRESS",
    "BuyerPayment",
    "LegRole",
    "ListingState",
    "PaymentLeg",
    "Royalty",
    "RoyaltySource",
    "TradeState",
    "TradeTerms",
    "check_buyer_locks",
    "check_payment_lock",
    "check_seller_lock",
    "check_seller_window",
    "check_timelocks",
    "check_tradable",
    "check_trade_state",
    "payment_timelock",
    "required_payment_locks",
    "royalty_of",
    "same_address",
    "settled_state",
]

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

PENDING_DISPUTES = frozenset({DisputeState.OPEN, DisputeState.CONTESTED})
"""Dispute states in which a challenge may still revoke its accused token."""


def check_tradable(
    status: TokenStatus,
    token_id: int,
    *,
    disputes: Iterable[DisputeState] = (),
    claim: Misattestation | None = None,
) -> None:
    """Raises :class:`TokenNotTradable` unless the token is active (revoked copies are frozen)
    and none of the challenges against it (``disputes``: their states) is still pending: a
    buyer must not pay for a token a dispute may revoke. A rejected or void challenge no longer
    stands in the way. The same for the token's latest mis-attestation claim at the BatchCourt
    (``claim``: ``misattestationOf``): while it is open, :class:`MisattestationClaimOpen`."""
    if status is not TokenStatus.ACTIVE:
        raise TokenNotTradable(token_id, status.name.lower())
    if any(state in PENDING_DISPUTES for state in disputes):
        raise TokenNotTradable(token_id, "challenged")
    if claim is not None and claim.state in PENDING_DISPUTES:
        raise MisattestationClaimOpen(token_id, claim_round=claim.round)


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
