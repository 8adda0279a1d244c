"""The trade's timing rules (re-exported by :mod:`services.exchange.trade`): every buyer leg
expires at least :data:`SAFETY_MARGIN_S` before the seller's token lock and at least that long
after it is made, and the default payment window ends within :data:`MAX_PAYMENT_WINDOW_S`."""

from __future__ import annotations

from services.exchange.errors import UnsafeTimelockOrder

SAFETY_MARGIN_S = 600
"""Seconds every buyer lock must expire before the seller's token lock (the one margin)."""

MAX_PAYMENT_WINDOW_S = 86_400
"""The longest a buyer's payment stays locked by default (T2 - now): a seller who locks the token
until far in the future and never claims would otherwise keep the buyer's Ether that long."""


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
