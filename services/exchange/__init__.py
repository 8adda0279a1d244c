"""Exchange: hash-time-locked swaps with a safe timelock ordering, and sealed delivery."""

from services.exchange.errors import (
    ExchangeError,
    LockMismatch,
    SecretNotRevealed,
    UnsafeTimelockOrder,
)
from services.exchange.sealing import (
    SealError,
    delivery_key,
    key_commitment,
    open_sealed,
    public_key_bytes,
    seal,
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
    "SealError",
    "SecretNotRevealed",
    "SellerOffer",
    "UnsafeTimelockOrder",
    "buyer_claim_token",
    "buyer_lock_payment",
    "check_timelocks",
    "delivery_key",
    "key_commitment",
    "open_sealed",
    "public_key_bytes",
    "seal",
    "seller_claim_payment",
    "seller_lock_token",
]
