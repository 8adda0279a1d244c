"""Atomic swap of a registered token for Ether through two hash-time locks (both backends)."""

from __future__ import annotations

import pytest

from ledger import LockStatus, errors
from services.exchange import (
    ClaimTooLate,
    LockMismatch,
    SecretNotRevealed,
    UnsafeTimelockOrder,
    buyer_claim_token,
    buyer_lock_payment,
    check_timelocks,
    seller_claim_payment,
    seller_lock_token,
)
from services.exchange.swap import CLAIM_MARGIN_S
from tests.contracts.helpers import past_reclaim, register_esp, register_image

PRICE = 10**17


def _listed(world):
    register_esp(world)
    token = register_image(world, world.producer)
    past_reclaim(world)  # the Registry's escrow refuses a fresh token (RegistryTokenReclaimable)
    world.registry(world.producer).approve(world.deployment.htlc.address, token)
    now = world.chain.timestamp()
    offer = seller_lock_token(
        world.htlc(world.producer),
        token=world.deployment.registry.address,
        token_id=token,
        buyer=world.buyer.address,
        timelock=now + 7200,
    )
    return token, offer, now


def test_swap_moves_token_and_price_atomically(world):
    token, offer, now = _listed(world)
    buyer = world.htlc(world.buyer)
    payment = buyer_lock_payment(
        buyer,
        offer.asset_lock,
        token=world.deployment.registry.address,
        token_id=token,
        price=PRICE,
        timelock=now + 3600,
    )
    with pytest.raises(SecretNotRevealed):
        buyer_claim_token(buyer, payment, offer.asset_lock)
    seller_before = world.balance(world.producer.address)
    seller = world.htlc(world.producer)
    seller_claim_payment(seller, payment, offer, price=PRICE)
    fee = seller.last_receipt["gasUsed"] * seller.last_receipt["effectiveGasPrice"]
    assert world.balance(world.producer.address) == seller_before + PRICE - fee
    assert buyer_claim_token(buyer, payment, offer.asset_lock) == offer.secret
    assert world.registry(world.buyer).owner_of(token) == world.buyer.address
    assert buyer.status(offer.asset_lock) is LockStatus.WITHDRAWN


def test_unsafe_timelock_order_is_refused_before_any_money_moves(world):
    token, offer, _ = _listed(world)
    buyer = world.htlc(world.buyer)
    before = world.balance(world.buyer.address)
    with pytest.raises(UnsafeTimelockOrder) as exc:
        buyer_lock_payment(
            buyer,
            offer.asset_lock,
            token=world.deployment.registry.address,
            token_id=token,
            price=PRICE,
            timelock=offer.asset_lock.timelock - 10,  # inside the margin
        )
    assert exc.value.margin > 10
    assert world.balance(world.buyer.address) == before


def test_buyer_refuses_a_lock_for_someone_else_or_another_token(world):
    token, offer, now = _listed(world)
    with pytest.raises(LockMismatch, match="receiver"):
        buyer_lock_payment(
            world.htlc(world.attacker),
            offer.asset_lock,
            token=world.deployment.registry.address,
            token_id=token,
            price=PRICE,
            timelock=now + 3600,
        )
    with pytest.raises(LockMismatch, match="amount"):
        buyer_lock_payment(
            world.htlc(world.buyer),
            offer.asset_lock,
            token=world.deployment.registry.address,
            token_id=token + 1,
            price=PRICE,
            timelock=now + 3600,
        )


def test_stalled_seller_lets_both_sides_refund(world):
    token, offer, now = _listed(world)
    buyer = world.htlc(world.buyer)
    payment = buyer_lock_payment(
        buyer,
        offer.asset_lock,
        token=world.deployment.registry.address,
        token_id=token,
        price=PRICE,
        timelock=now + 3600,
    )
    world.chain.increase_time(3601)
    buyer.refund(payment)  # T2 passed: the buyer's money comes back
    with pytest.raises(errors.LockNotOpen):
        world.htlc(world.producer).withdraw(payment, offer.secret)  # too late for the seller
    world.chain.increase_time(3600)
    world.htlc(world.producer).refund(offer.asset_lock)
    assert world.registry(world.producer).owner_of(token) == world.producer.address


def test_check_timelocks_rules():
    check_timelocks(asset_timelock=10_000, payment_timelock=9_400, margin=600)
    with pytest.raises(UnsafeTimelockOrder):
        check_timelocks(asset_timelock=10_000, payment_timelock=9_401, margin=600)
    with pytest.raises(ValueError, match="margin"):
        check_timelocks(asset_timelock=1, payment_timelock=0, margin=-1)


def test_a_seller_does_not_publish_the_secret_when_its_claim_could_land_after_t2(world):
    """A claim mined after the payment lock expired fails, but its calldata has published the
    secret: the buyer would refund its payment and take the token too. The seller's client
    refuses to claim within CLAIM_MARGIN_S of T2, so both sides refund instead."""
    _token, offer, _ = _listed(world)
    buyer = world.htlc(world.buyer)
    payment = buyer.lock_ether(
        world.producer.address,
        amount=PRICE,
        hashlock=offer.asset_lock.hashlock,
        timelock=world.chain.timestamp() + 3600,
    )
    world.chain.increase_time(3600 - CLAIM_MARGIN_S // 2)  # the seller comes back late
    with pytest.raises(ClaimTooLate) as exc:
        seller_claim_payment(world.htlc(world.producer), payment, offer, price=PRICE)
    assert exc.value.margin == CLAIM_MARGIN_S
    assert buyer.revealed_preimage(payment) is None  # the secret never left
    assert buyer.status(payment) is LockStatus.OPEN
