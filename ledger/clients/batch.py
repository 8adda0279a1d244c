"""Batch settlement (issue 16): many fee claims, stake releases or feedback records in one
transaction. Each call is all or nothing: one bad lock reverts the batch with that lock's own
custom error (``LockExpired``, ``FeedbackAlreadyRecorded``, ...): when some locks may have
settled meanwhile, check their status first (``HtlcClient.status``) or simulate the call object
(``*_call(...).call()``; the sending functions estimate gas first, so a doomed batch costs nothing).

Kept beside the single-lock clients rather than inside them so the per-lock paths stay
unchanged; both encode the same contract functions' ABI from the committed artifacts.
"""

from __future__ import annotations

from collections.abc import Sequence

from web3.types import TxReceipt

from ledger.clients._base import Call
from ledger.clients.esp_registry import EspRegistryClient
from ledger.clients.htlc import HtlcClient, LockTerms
from ledger.errors import LedgerError


class BatchError(LedgerError):
    """Raised before sending when a batch is empty or its lists differ in length."""


def _check(locks: Sequence[LockTerms], other: Sequence[object] | None = None) -> None:
    if not locks:
        raise BatchError("a batch needs at least one lock")
    if other is not None and len(other) != len(locks):
        raise BatchError(f"{len(locks)} locks but {len(other)} values: one per lock")


def withdraw_batch_call(
    client: HtlcClient, locks: Sequence[LockTerms], preimages: Sequence[bytes]
) -> Call:
    """``HashTimeLock.withdrawBatch``, encoded once (sent below, or handed to a wallet)."""
    _check(locks, preimages)
    return Call(
        client.contract.functions.withdrawBatch(
            [lock.as_tuple() for lock in locks], list(preimages)
        )
    )


def release_batch_call(client: EspRegistryClient, locks: Sequence[LockTerms]) -> Call:
    """``EspRegistry.releaseBatch``, encoded once."""
    _check(locks)
    return Call(client.contract.functions.releaseBatch([lock.as_tuple() for lock in locks]))


def submit_feedback_batch_call(
    client: EspRegistryClient, locks: Sequence[LockTerms], positive: Sequence[bool]
) -> Call:
    """``EspRegistry.submitFeedbackBatch``, encoded once."""
    _check(locks, positive)
    return Call(
        client.contract.functions.submitFeedbackBatch(
            [lock.as_tuple() for lock in locks], [bool(p) for p in positive]
        )
    )


def withdraw_batch(
    client: HtlcClient, locks: Sequence[LockTerms], preimages: Sequence[bytes]
) -> TxReceipt:
    """Claims every lock with its preimage (anyone may send; each lock pays its own receiver,
    and consecutive Ether locks to one receiver are paid in one transfer)."""
    return client._send(withdraw_batch_call(client, locks, preimages))


def release_batch(client: EspRegistryClient, locks: Sequence[LockTerms]) -> TxReceipt:
    """Frees the ESP's stake from many settled, acknowledged locks."""
    return client._send(release_batch_call(client, locks))


def submit_feedback_batch(
    client: EspRegistryClient, locks: Sequence[LockTerms], positive: Sequence[bool]
) -> TxReceipt:
    """Feedback for many withdrawn locks the client's account paid (one rating per lock)."""
    return client._send(submit_feedback_batch_call(client, locks, positive))
