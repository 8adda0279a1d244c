"""The trade's vocabulary, shared by its rule modules (:mod:`services.exchange.trade` re-exports
it): the states of a trade and a listing, the terms an offer fixes, and address comparison."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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


@dataclass(frozen=True)
class TradeTerms:
    """What the seller's signed offer and the buyer's request fix."""

    token_id: int
    seller: str
    buyer: str
    price: int


def same_address(a: str, b: str) -> bool:
    return a.lower() == b.lower()
