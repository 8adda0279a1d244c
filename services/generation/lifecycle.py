"""The generation-task lifecycle: one home for every rule a paid generation must pass.

A producer posts a prompt; the chosen ESP quotes a price, a sha256 hashlock of its secret and a
deadline, signed as an EIP-712 Quote; the producer locks the fee; the ESP delivers the sealed
image and its attestation, then claims the fee (revealing the secret, which opens the delivery);
the producer registers the image under the paid lock (DESIGN.md 3.2, generation phase)::

    posted --ESP's signed quote--> quoted --fee lock on chain--> locked
    posted --the ESP refuses to quote (its price above the producer's maximum)--> refused
    locked --sealed delivery--> delivered --ESP withdraws the fee--> claimed
    locked --the ESP refuses (a prompt that does not open its quote's commitment)--> locked,
        with the refusal recorded: nothing is delivered, and the producer refunds
    claimed --Registered under the paid lock--> registered
    claimed --the delivery key opens something else--> fraud_proven
    locked | delivered --the producer refunds after the deadline--> refunded

The ESP sees the prompt's commitment until the fee lock is indexed, then the prompt
(:mod:`services.generation.prompt`). A quote's deadline is bounded on both sides: at least the
minimum lock duration away, and early enough that an ESP claiming at the deadline leaves the
producer time to commit inside the fee lock's registration window
(:func:`latest_quote_deadline`).

The API's tasks router, its indexer projection (``marketplace_api.market.TaskTracker``) and the
clients call these functions; what happens on chain is set by the projection only.
"""

from __future__ import annotations

from enum import StrEnum

from ledger import Asset, LockTerms
from ledger.deploy import claim_window_blocks
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
    REFUSED = "refused"  # the ESP would not quote it (nothing was paid): final


def _require(state: str, action: str, *allowed: TaskState) -> None:
    if state not in allowed:
        raise TaskNotReady(state, action, allowed)


# Seconds per block when converting the Registry's registration window (blocks) into a fee
# deadline (seconds): Ethereum's 12 s slot, which the deployment's parameters are written for
# (``registration_window_blocks`` 7,200 is "a day"). A post-merge L1 never makes blocks faster,
# so on it a window of W blocks lasts at least W x 12 s. A chain that makes blocks faster (an L2)
# needs its own figure (``seconds_per_block``; no caller passes one yet); a local chain that
# mines on demand has no such floor (docs/api.md, "A paid generation, step by step").
SECONDS_PER_BLOCK = 12


def latest_quote_deadline(
    lock_time: int, *, window_blocks: int, seconds_per_block: int = SECONDS_PER_BLOCK
) -> int:
    """The latest fee deadline a producer accepts for a lock made at ``lock_time`` (a chain
    timestamp; the current one when quoting or locking, which the lock's own block can only
    follow): the Registry refuses a commitment more than ``window_blocks`` blocks after the
    fee lock's block, and the ESP may claim its fee (deliver the image) as late as the
    deadline, so the deadline ends a margin of a tenth of the window (at least one block)
    before the window does, which leaves the producer that margin to commit::

        lock_time + (window_blocks - max(1, window_blocks // 10)) * seconds_per_block

    With the defaults (7,200 blocks, 12 s) that is 21.6 hours after the lock; with the tests'
    40-block window, 432 s."""
    return lock_time + claim_window_blocks(window_blocks) * seconds_per_block


def check_deadline_within_window(deadline: int, latest_deadline: int) -> None:
    """Refuses (``deadline_beyond_registration_window``) a quoted deadline after
    ``latest_deadline`` (:func:`latest_quote_deadline`): the producer's tools check it again
    before they lock the fee, on the chain's own window rather than on the API's word."""
    if deadline > latest_deadline:
        raise QuoteRefused(
            "deadline_beyond_registration_window",
            f"deadline {deadline} is after {latest_deadline}: an ESP claiming its fee that late "
            "would deliver after the fee lock's registration window closed, and the paid image "
            "could not be registered",
        )


def check_quote(
    state: str,
    *,
    price: int,
    max_price: int,
    deadline: int,
    earliest_deadline: int,
    latest_deadline: int,
    signer: str,
    esp: str,
) -> TaskState:
    """``posted`` -> ``quoted``: the price within the producer's maximum, the deadline at least
    the minimum lock duration away and no later than ``latest_deadline`` (see
    :func:`latest_quote_deadline`: an ESP claiming at a later deadline would deliver after the
    fee lock's registration window closed, stranding the paid image), the Quote signed by the
    task's ESP (without which the fee lock would count neither for nor against the ESP's
    reputation)."""
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
    check_deadline_within_window(deadline, latest_deadline)
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


def deliverable(state: str, *, has_lock: bool, refused: bool = False) -> TaskState:
    """``locked`` -> ``delivered``: the ESP delivers once the fee is locked on chain, unless it
    refused the task."""
    _require(state, "a delivery", TaskState.LOCKED)
    if not has_lock:
        raise TaskNotReady(state, "a delivery (the fee lock is not indexed)", (TaskState.LOCKED,))
    if refused:
        raise TaskNotReady(state, "a delivery (the ESP refused the task)", (TaskState.LOCKED,))
    return TaskState.DELIVERED


def check_refusal(state: str, *, refused: bool) -> TaskState:
    """The ESP refuses a task, once: a ``posted`` one it will not quote (the producer's maximum
    price below its price, say), which is then ``refused`` for good (nothing was paid; its
    worker never reads it again), or a ``locked`` one before delivering (a released prompt that
    does not open the commitment it quoted on, an image it attested to another payer), which
    stays ``locked`` and its producer refunds at the deadline. Returns the task's state."""
    _require(state, "a refusal", TaskState.POSTED, TaskState.LOCKED)
    if refused:
        raise TaskNotReady(
            state, "a refusal (the ESP refused it already)", (TaskState.POSTED, TaskState.LOCKED)
        )
    return TaskState.REFUSED if state == TaskState.POSTED else TaskState.LOCKED


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
