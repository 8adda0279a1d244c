"""The trade's payment rules (re-exported by :mod:`services.exchange.trade`): the Ether locks
the buyer owes (the seller's share and the collection's ERC-2981 royalty), a lock that pays one
exactly, and the buyer's locks that pay the whole offer safely."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ledger import Asset, LockTerms
from services.exchange._terms import TradeState, TradeTerms, same_address
from services.exchange._timelocks import check_seller_window, check_timelocks
from services.exchange.errors import PaymentMismatch, UnsafeTimelockOrder


class LegRole(StrEnum):
    """What a buyer's Ether lock pays: the seller's share or the producer's royalty."""

    PAYMENT = "payment"
    ROYALTY = "royalty"


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
    locked_in: Mapping[bytes, int] | None = None,
) -> BuyerPayment | None:
    """The buyer's locks (among ``locks``) that pay the offer exactly, or None while a leg is
    missing. A royalty lock counts only if it lasts at least as long as the seller's payment
    lock (else the seller could claim after the royalty was refunded) and, given ``locked_in``
    (each lock id's block number), only if it was made in the payment lock's block or later:
    an Ether lock may be withdrawn only within the HTLC's ``claimWindow`` blocks of its own
    block, so a royalty locked a claim window before the payment is closed when the seller's
    claim publishes the secret, and the buyer refunds it at T2 (red team 6: the producer lost
    0.005 ETH at a 0.1 ETH price). ``safe`` is False when a
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
            if locked_in is not None:
                made = locked_in.get(found[LegRole.PAYMENT].id)
                matches = [
                    lock
                    for lock in matches
                    if made is not None and locked_in.get(lock.id, -1) >= made
                ]
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
