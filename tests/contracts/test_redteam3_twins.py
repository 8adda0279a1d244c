"""Red team, round 3 (issue 11): the BatchCourt's twin rule (``revokeDuplicateImage``, one
producer, its own image twice) against a producer with a Sybil account.

The rule revokes the twin its producer holds "the more firmly" (held outright 2, listed by it in
the escrow 1, neither 0: sold), the earlier published standing on a tie. A Sybil account makes a
twin look sold: a transfer to one's own second address and a sale are the same on chain.

Every test runs on every chain backend (``world``).
"""

from __future__ import annotations

import contextlib

from ledger import TokenStatus, new_secret
from ledger.errors import LedgerError
from tests.contracts.attack_kit import HOUR
from tests.contracts.batch_kit import client as batch_client
from tests.contracts.helpers import BASE_FP, details, paid_lock, past_reclaim, register_esp
from tests.contracts.helpers import register_image as register_single
from tests.contracts.test_court_duplicate_image import _batch_holding, _rule

PRICE = 10**16


def _twins(world, content: bytes):
    """The producer's batch item of ``content`` (published first) and its single twin (the
    delivery's own, older lock: a valid attestation); (plan, item, single)."""
    register_esp(world)
    first_lock = paid_lock(world, world.producer, world.esp)
    _, plan_, item = _batch_holding(world, world.producer, content, esp=world.esp)
    single = register_single(
        world,
        world.producer,
        esp=world.esp,
        fingerprint=BASE_FP,
        detail=details()["base"],
        content=content,
        lock=first_lock,
    )
    return plan_, item, single


def _sell_single(world, single: int):
    """The swap escrow: the single for the buyer, the price for the producer, one secret. The
    producer withdraws the price (the secret is public); returns (token lock, secret). The
    escrow takes the single once no earlier payer can reclaim it."""
    producer, buyer = world.producer, world.buyer
    past_reclaim(world)
    world.registry(producer).approve(world.deployment.htlc.address, single)
    secret, hashlock = new_secret()
    now = world.chain.timestamp()
    token_lock = world.htlc(producer).lock_erc721(
        world.deployment.registry.address,
        buyer.address,
        token_id=single,
        hashlock=hashlock,
        timelock=now + 2 * HOUR,
    )
    price_lock = world.htlc(buyer).lock_ether(
        producer.address, amount=PRICE, hashlock=hashlock, timelock=now + HOUR
    )
    world.htlc(producer).withdraw(price_lock, secret)
    return token_lock, secret


def test_a_producer_cannot_revoke_a_bought_twin_after_moving_the_other_to_a_sybil(world):
    """``test_a_producer_cannot_sell_the_single_twin_of_its_batch_item_and_revoke_it`` (fixed by
    the holder ranks) with one more transaction: the producer first moves its batch item to a
    Sybil account (rank 0, "sold"), then sells the single through the escrow. The buyer
    withdraws it: both twins now rank 0, a tie, and "the earlier published stands" revokes the
    buyer's single. The producer keeps the price (0.01 ETH) and the image (the Sybil's item,
    active), plus the ruling's reward; it loses the single's bond. Before the fix the buyer's
    token was REVOKED.

    Fix (contract, made): in the one-producer branch the court revokes only a twin its producer
    holds outright; when neither is held outright (sold, given to a Sybil, or in the escrow,
    where a pending sale and a listing to a Sybil look the same) it refuses
    (``CourtNotOwner(item, producer)``): a double registration then stands, and no buyer loses
    a token it paid for."""
    plan_, item, single = _twins(world, b"batched, moved to a Sybil, sold alone")
    sybil = world.accounts[7]
    past_reclaim(world)  # a fresh item does not move (BatchTokenReclaimable)
    batch_client(world, world.producer).transfer(sybil.address, item)  # rank 0, like a sale
    token_lock, secret = _sell_single(world, single)
    world.htlc(world.buyer).withdraw(token_lock, secret)  # the purchase completes
    with contextlib.suppress(LedgerError):  # the fix refuses
        _rule(world, world.producer, item, plan_, single)

    assert world.registry(world.buyer).owner_of(single) == world.buyer.address
    assert world.registry(world.buyer).record(single).status is TokenStatus.ACTIVE


def test_a_producer_cannot_revoke_a_twin_whose_sale_is_pending_after_moving_the_other(world):
    """The same, timed inside the swap: the item moved to a Sybil (rank 0), the single in the
    escrow for the buyer (rank 1, "listed by the producer"), the producer withdraws the price and
    asks for the ruling in its next transaction: 1 > 0, the single is revoked before the buyer's
    withdrawal, which then moves a revoked token. A listing to a Sybil (what rank 1 was meant to
    catch, ``test_a_producer_listing_its_own_single_cannot_have_a_sold_batched_item_revoked``)
    and a pending sale to a real buyer look the same; so do a sale and a move to a Sybil.
    Before the fix the buyer's token was REVOKED. Fix: as above (refused)."""
    plan_, item, single = _twins(world, b"batched, moved to a Sybil, sold alone, ruled mid-swap")
    sybil = world.accounts[7]
    past_reclaim(world)  # a fresh item does not move (BatchTokenReclaimable)
    batch_client(world, world.producer).transfer(sybil.address, item)
    token_lock, secret = _sell_single(world, single)
    with contextlib.suppress(LedgerError):  # the fix refuses
        _rule(world, world.producer, item, plan_, single)
    world.htlc(world.buyer).withdraw(token_lock, secret)

    assert world.registry(world.buyer).owner_of(single) == world.buyer.address
    assert world.registry(world.buyer).record(single).status is TokenStatus.ACTIVE


def test_a_twin_its_producer_holds_is_still_revoked_whatever_the_other_did(world):
    """The fix's other side: a twin held outright by its producer is revoked against a sold, a
    given-away or an escrowed other (the buyer's stays), and with both held the later published
    goes, as before."""
    plan_, item, single = _twins(world, b"batched, then sold alone: the item is held")
    token_lock, secret = _sell_single(world, single)  # the single pending, the item held
    assert _rule(world, world.buyer, item, plan_, single) == item
    world.htlc(world.buyer).withdraw(token_lock, secret)
    assert world.registry(world.buyer).record(single).status is TokenStatus.ACTIVE
    assert batch_client(world, world.deployer).status(item) is TokenStatus.REVOKED
