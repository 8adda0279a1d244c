"""An ESP's stake top-up (``EspRegistry.addStake``): what the API's prepared transaction and
``aigc esp add-stake`` check before the chain.

The contract refuses an address that is not a registered ESP or one that deregistered
(``EspNotRegistered``: its exit runs its course) and a slashed-out ESP short of the minimum
(``EspStakeTooLow``). Two things it does not refuse are checked here: the Registry stores
``uint128(stake + amount)``, which wraps past 128 bits (unreachable with real Ether, not with a
dev chain's balances), and an amount above the caller's balance only fails the gas estimate.
"""

from __future__ import annotations

from services.errors import ServiceError

__all__ = ["MAX_STAKE", "TopUpRefused", "check_top_up"]

MAX_STAKE = 2**128 - 1  # EspRegistry keeps a stake in a uint128


class TopUpRefused(ServiceError):
    """Raised when a stake top-up cannot be sent: ``code`` is ``stake_too_large`` or
    ``insufficient_funds``."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


def check_top_up(*, stake: int, amount: int, balance: int) -> None:
    """Raises :class:`TopUpRefused` when adding ``amount`` wei to ``stake`` would pass
    :data:`MAX_STAKE` or ``amount`` is more than the sender's ``balance``."""
    if amount <= 0:
        raise ValueError(f"amount must be positive, got {amount}")
    if stake + amount > MAX_STAKE:
        raise TopUpRefused(
            f"a stake of {stake} + {amount} wei does not fit the Registry's 128 bits",
            code="stake_too_large",
        )
    if amount > balance:
        raise TopUpRefused(
            f"{amount} wei is more than the sender's balance, {balance} wei",
            code="insufficient_funds",
        )
