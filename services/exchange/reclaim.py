"""Until when a token can still be reclaimed: the Registry's ``reclaim`` rule, as a buyer sees it.

``Registry.reclaim`` moves a token from whoever holds it (a buyer in good faith too) to a payer
who registers the same bytes with an older priority. Under the same ESP (the case a seller
cannot rule out: an ESP's Sybil registering its customer's image), the reclaimer needs a fee
lock to that ESP, paid (``Withdrawn``; a ``Locked`` one until its timelock may still be), and a
priority older than the token's. A registration takes its lock's block as priority only when it
is committed within ``registrationWindow`` blocks of the lock (later, its own commit block:
never older than a token already registered), and reveals within ``commitTtl`` blocks of the
commit. So a lock locked at block ``b < priority`` can reclaim until block
``b + registrationWindow + commitTtl`` at the latest, and not after.

Only unused locks count: a lock whose registration the indexer has seen gave its payer an
image already. The contract does not record a lock's use, so an ESP could still attest a second
image to it (an operator can "use" its Sybil's older lock on any image first, then reclaim with
it: the ESP answers with its stake; docs/api.md says so, with the contract fix). Across ESPs a
reclaim must have been committed before the token's own commit (``RegistryCommittedAfter
Publication``): a pending commitment hides its content, and it expires ``commitTtl`` blocks
after it was made, so that case is left to the chain.

Nor a lock whose delivery the API holds with the ESP's attestation of ANOTHER image
(``attested_elsewhere``): its payer was given that image, and reclaiming this token with the
lock needs a second attestation of the ESP to the same lock, the equivocation the hold already
leaves to the ESP's stake for used locks (above). This is what abandoned generations are: a
producer paid, was delivered an image and never registered it (or a griefer paid the minimum
fee on purpose); before, each such lock held every later token of its ESP off the market for a
whole window (red team 3, ``tests/api/test_redteam3_reclaim_hold.py``). The customer the hold
defends was delivered the very bytes its ESP's Sybil registered: its lock still holds. A lock
the API has no delivery for (paid outside it, or not delivered yet) holds as before, and so
does every lock of an ESP the API has seen register an image other than the one it delivered
for a lock, or whose delivery was proven to seal other bytes than it attested
(:func:`marketplace_api.sale_holds.reclaim_hold`): it lied once, its word for a lock is worth
nothing.

The cost for honest sellers: only locks OLDER than the token's priority and still inside their
window hold it, so any token is sellable at most ``registrationWindow + commitTtl`` blocks after
its priority (plus the blocks it spent in the swap escrow), however many locks its ESP has open.

The blocks a token spends in the swap escrow, where ``reclaim`` refuses it, extend the window
(the Registry counts them since 7e154ee: a taker listing the token until the window closed
would keep it otherwise): :func:`escrow_blocks` counts them from the token's transfers, the
current stay up to ``head`` included (it counts once the token leaves the escrow).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["FeeLock", "escrow_blocks", "reclaimable_until"]


@dataclass(frozen=True, slots=True)
class FeeLock:
    """An Ether lock to the token's ESP as the indexer saw it."""

    block: int  # the block it was locked in: the priority it gives
    timelock: int  # unix seconds: unclaimed at it, it can only be refunded
    withdrawn: bool
    refunded: bool
    used: bool  # a registration (Registered / BatchRegistered) names it as its task
    # The API holds the ESP's signed attestation of ANOTHER image to this lock (the task's
    # delivery): reclaiming this token with it needs the ESP to attest a second image to one
    # lock, an equivocation the API can prove. Such a lock does not hold the token.
    attested_elsewhere: bool = False


def escrow_blocks(transfers: Iterable[tuple[int, str, str]], escrow: str, *, head: int) -> int:
    """The blocks a token spent in the swap ``escrow``, from its transfers ``(block, from, to)``
    in chain order: each stay from the transfer in to the transfer out, and a stay not ended yet
    up to ``head`` (the Registry adds it when the token leaves: a sale through the escrow)."""
    escrow = escrow.lower()
    total, since = 0, None
    for block, sender, receiver in transfers:
        if receiver.lower() == escrow:
            since = block
        elif sender.lower() == escrow and since is not None:
            total += block - since
            since = None
    if since is not None:
        total += max(0, head - since)
    return total


def reclaimable_until(
    priority_block: int,
    locks: Iterable[FeeLock],
    *,
    registration_window: int,
    commit_ttl: int,
    head: int,
    now: int,
) -> int | None:
    """The last block at which an earlier payer of the token's ESP could still reclaim a token
    of priority ``priority_block``, given the ESP's fee ``locks``; None when none can (at block
    ``head``, time ``now``)."""
    last: int | None = None
    for lock in locks:
        if lock.block >= priority_block or lock.refunded or lock.used:
            continue  # no older priority, or no payment to register with
        if lock.attested_elsewhere:
            continue  # its payer holds another image: only an equivocating ESP helps it
        if not lock.withdrawn and lock.timelock <= now:
            continue  # expired unclaimed: it can only be refunded
        until = lock.block + registration_window + commit_ttl
        if until > head and (last is None or until > last):  # a reclaim lands after head
            last = until
    return last
