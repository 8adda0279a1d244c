"""Exchange: hash-time-locked swaps with a safe timelock ordering (and, later, sealed delivery)."""

from services.exchange.errors import (
    ExchangeError,
    LockMismatch,
    SecretNotRevealed,
    UnsafeTimelockOrder,
)
from services.exchange.swap import (
    DEFAULT_MARGIN,
    SellerOffer,
    buyer_claim_token,
    buyer_lock_payment,
    check_timelocks,
    seller_claim_payment,
    seller_lock_token,
)

__all__ = [
    "DEFAULT_MARGIN",
    "ExchangeError",
    "LockMismatch",
    "SecretNotRevealed",
    "SellerOffer",
    "UnsafeTimelockOrder",
    "buyer_claim_token",
    "buyer_lock_payment",
    "check_timelocks",
    "seller_claim_payment",
    "seller_lock_token",
]
