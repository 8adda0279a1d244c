"""Hash-time-locked swaps of a registered image token for Ether, on one chain or two.

Protocol (DESIGN.md 3.2, trading phase):

1. the seller makes a secret ``s'`` and locks the token for the buyer under ``sha256(s')`` until T1;
2. the buyer checks that lock on chain, then locks the price for the seller under the same
   hashlock until T2 with ``T2 <= T1 - margin`` (:func:`check_timelocks` refuses anything else);
3. the seller withdraws the price, which publishes ``s'``; the buyer reads it and withdraws the
   token;
4. if either side stalls, the other refunds after its own timelock.

Because T2 comes first, the seller must reveal ``s'`` before T2, and the buyer then still has at
least ``margin`` seconds before T1 to claim the token. Each side signs with its own key; the two
legs may live on different chains (pass two clients).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger import Asset, HtlcClient, LockStatus, LockTerms, new_secret
from services.exchange.errors import LockMismatch, SecretNotRevealed, UnsafeTimelockOrder

DEFAULT_MARGIN = 600  # seconds the buyer keeps, at least, to claim the token after T2


def check_timelocks(
    *, asset_timelock: int, payment_timelock: int, margin: int = DEFAULT_MARGIN
) -> None:
    """Raises :class:`UnsafeTimelockOrder` unless payment_timelock <= asset_timelock - margin."""
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    if payment_timelock > asset_timelock - margin:
        raise UnsafeTimelockOrder(
            asset_timelock=asset_timelock, payment_timelock=payment_timelock, margin=margin
        )


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
    margin: int = DEFAULT_MARGIN,
) -> LockTerms:
    """Step 2: verify the seller's lock on chain, then lock ``price`` for the seller until T2."""
    expected = {
        "receiver": buyer.tx.address,
        "asset": Asset.ERC721,
        "token": token,
        "amount": token_id,
    }
    for field, value in expected.items():
        actual = getattr(asset_lock, field)
        if (actual.lower() if isinstance(actual, str) else actual) != (
            value.lower() if isinstance(value, str) else value
        ):
            raise LockMismatch(field, value, actual)
    status = buyer.status(asset_lock)
    if status is not LockStatus.OPEN:
        raise LockMismatch("status", LockStatus.OPEN, status)
    check_timelocks(asset_timelock=asset_lock.timelock, payment_timelock=timelock, margin=margin)
    return buyer.lock_ether(
        asset_lock.sender, amount=price, hashlock=asset_lock.hashlock, timelock=timelock
    )


def seller_claim_payment(seller: HtlcClient, payment_lock: LockTerms, offer: SellerOffer) -> None:
    """Step 3a: the seller takes the price, publishing the secret."""
    if payment_lock.hashlock != offer.asset_lock.hashlock:
        raise LockMismatch("hashlock", offer.asset_lock.hashlock, payment_lock.hashlock)
    seller.withdraw(payment_lock, offer.secret)


def buyer_claim_token(buyer: HtlcClient, payment_lock: LockTerms, asset_lock: LockTerms) -> bytes:
    """Step 3b: the buyer reads the secret from the payment's withdrawal and takes the token."""
    secret = buyer.revealed_preimage(payment_lock)
    if secret is None:
        raise SecretNotRevealed("the seller has not withdrawn the payment yet")
    buyer.withdraw(asset_lock, secret)
    return secret
