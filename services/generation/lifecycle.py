"""The generation-task lifecycle: one home for every rule a paid generation must pass.

A producer posts a prompt; the chosen ESP quotes a price, a sha256 hashlock of its secret and a
deadline, signed as an EIP-712 Quote; the producer locks the fee; the ESP delivers the sealed
image and its attestation, then claims the fee (revealing the secret, which opens the delivery);
the producer registers the image under the paid lock (DESIGN.md 3.2, generation phase)::

    posted --ESP's signed quote--> quoted --fee lock on chain--> locked
    locked --sealed delivery--> delivered --ESP withdraws the fee--> claimed
    claimed --Registered under the paid lock--> registered
    claimed --the delivery key opens something else--> fraud_proven
    locked | delivered --the producer refunds after the deadline--> refunded

The API's tasks router, its indexer projection (``marketplace_api.market.TaskTracker``) and the
clients call these functions; what happens on chain is set by the projection only.
"""

from __future__ import annotations

from enum import StrEnum

from ledger import Asset, LockTerms
from services.generation.errors import QuoteRefused, TaskNotReady


class TaskState(StrEnum):
    """Where a generation task stands."""

    POSTED = "posted"
    QUOTED = "quoted"
    LOCKED = "locked"
    DELIVERED = "delivered"
    CLAIMED = "claimed"
    REFUNDED = "refunded"
    REGISTERED = "registered"
    FRAUD_PROVEN = "fraud_proven"


def _require(state: str, action: str, *allowed: TaskState) -> None:
    if state not in allowed:
        raise TaskNotReady(state, action, allowed)


def check_quote(
    state: str,
    *,
    price: int,
    max_price: int,
    deadline: int,
    earliest_deadline: int,
    signer: str,
    esp: str,
) -> TaskState:
    """``posted`` -> ``quoted``: the price within the producer's maximum, the deadline at least
    the minimum lock duration away, the Quote signed by the task's ESP (without which the fee
    lock would count neither for nor against the ESP's reputation)."""
    _require(state, "a quote", TaskState.POSTED)
    if price > max_price:
        raise QuoteRefused(
            "price_too_high", f"price {price} exceeds the producer's maximum {max_price}"
        )
    if deadline < earliest_deadline:
        raise QuoteRefused(
            "deadline_too_soon",
            f"deadline must be at least {earliest_deadline} (minimum lock duration)",
        )
    if signer != esp:
        raise QuoteRefused("bad_quote", "quote is not signed by the task's ESP for these terms")
    return TaskState.QUOTED


def fee_lock_matches(
    lock: LockTerms, *, producer: str, esp: str, hashlock: str, price: int, deadline: int
) -> bool:
    """Whether ``lock`` pays a quoted task: an Ether lock from its producer to its ESP under the
    quoted hashlock, for at least the price, expiring no earlier than the quoted deadline."""
    return (
        lock.asset is Asset.ETHER
        and lock.sender == producer
        and lock.receiver == esp
        and "0x" + lock.hashlock.hex() == hashlock.lower()
        and lock.amount >= price
        and lock.timelock >= deadline
    )


def deliverable(state: str, *, has_lock: bool) -> TaskState:
    """``locked`` -> ``delivered``: the ESP delivers once the fee is locked on chain."""
    _require(state, "a delivery", TaskState.LOCKED)
    if not has_lock:
        raise TaskNotReady(state, "a delivery (the fee lock is not indexed)", (TaskState.LOCKED,))
    return TaskState.DELIVERED


def settled(state: str, *, withdrawn: bool) -> TaskState | None:
    """The fee lock withdrawn (``claimed``) or refunded (``refunded``); None when the task is
    not waiting on its lock (a settlement seen twice, or after a later state)."""
    if state not in (TaskState.LOCKED, TaskState.DELIVERED):
        return None
    return TaskState.CLAIMED if withdrawn else TaskState.REFUNDED


def registered(state: str) -> TaskState | None:
    """``claimed`` -> ``registered`` when the image is registered under the paid lock."""
    return TaskState.REGISTERED if state == TaskState.CLAIMED else None


def check_fraud_claim(state: str, *, delivered: bool) -> None:
    """A fraud proof needs the fee claimed (the key is then derivable) and a delivery."""
    _require(state, "a fraud proof", TaskState.CLAIMED)
    if not delivered:
        raise TaskNotReady(state, "a fraud proof (nothing was delivered)", (TaskState.CLAIMED,))


def rewound_state(
    *, locked: bool, withdrawn: bool, refunded: bool, registered: bool, delivered: bool
) -> TaskState:
    """A chain-driven task's state from the lock events that survive a reorg."""
    if not locked:
        return TaskState.QUOTED
    if withdrawn:
        return TaskState.REGISTERED if registered else TaskState.CLAIMED
    if refunded:
        return TaskState.REFUNDED
    return TaskState.DELIVERED if delivered else TaskState.LOCKED
