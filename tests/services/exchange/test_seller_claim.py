"""The seller's claim of the payment checks the lock before the secret leaves, whatever the call.

Claiming publishes the secret; with it the buyer takes the token. So the seller's client claims
only a lock that pays the seller its share of the price (the price less the collection's
ERC-2981 royalty on a resale) in Ether, from the buyer, under the token lock's hashlock: the JS
SDK's ``claimPayment`` rule. Each attack below was claimed before the checks were unconditional
(the amount and the sender were checked only given ``registry=``, the asset never).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from ledger import LockStatus
from services.exchange import (
    SAFETY_MARGIN_S,
    LockMismatch,
    PaymentMismatch,
    SellerOffer,
    buyer_pay,
    seller_claim_payment,
    seller_lock_token,
)
from tests.contracts.attack_kit import erc20
from tests.contracts.helpers import past_reclaim, register_esp, register_image

PRICE = 10**17


def _resale(world):
    """The producer's token, sold on to the attacker (now the seller), locked for the buyer."""
    register_esp(world)
    token = register_image(world, world.producer)
    past_reclaim(world)  # the Registry's escrow refuses a fresh token (RegistryTokenReclaimable)
    world.registry(world.producer).transfer(world.attacker.address, token)
    world.registry(world.attacker).approve(world.deployment.htlc.address, token)
    return seller_lock_token(
        world.htlc(world.attacker),
        token=world.deployment.registry.address,
        token_id=token,
        buyer=world.buyer.address,
        timelock=world.chain.timestamp() + 7200,
    )


def _share(world) -> int:
    return PRICE - PRICE * world.params.royalty_bps // 10_000


def _refused(world, lock, offer, match: str) -> PaymentMismatch:
    seller = world.htlc(world.attacker)
    with pytest.raises(PaymentMismatch, match=match) as exc:
        seller_claim_payment(seller, lock, offer, price=PRICE)
    assert seller.status(lock) is LockStatus.OPEN  # not withdrawn
    assert seller.revealed_preimage(lock) is None  # the secret never left
    return exc.value


def test_a_lock_of_a_worthless_erc20_with_the_right_units_is_not_claimed(world):
    offer = _resale(world)
    junk = erc20(world, "TestERC20", world.buyer, _share(world))
    lock = world.htlc(world.buyer).lock_erc20(
        junk.address,
        world.attacker.address,
        amount=_share(world),
        hashlock=offer.asset_lock.hashlock,
        timelock=offer.asset_lock.timelock - SAFETY_MARGIN_S,
    )
    err = _refused(world, lock, offer, "asset")
    assert "ETHER" in str(err) and "ERC20" in str(err)


def test_a_short_ether_lock_is_not_claimed_by_the_default_call(world):
    offer = _resale(world)
    short = world.htlc(world.buyer).lock_ether(
        world.attacker.address,
        amount=_share(world) - 1,
        hashlock=offer.asset_lock.hashlock,
        timelock=offer.asset_lock.timelock - SAFETY_MARGIN_S,
    )
    err = _refused(world, short, offer, "amount")
    assert (err.expected, err.actual) == (_share(world), _share(world) - 1)
    assert str(_share(world)) in str(err) and str(_share(world) - 1) in str(err)


def test_a_lock_of_the_whole_price_on_a_resale_is_not_the_sellers_share(world):
    """Exactly the share: the royalty is the producer's, in a lock of its own."""
    offer = _resale(world)
    whole = world.htlc(world.buyer).lock_ether(
        world.attacker.address,
        amount=PRICE,
        hashlock=offer.asset_lock.hashlock,
        timelock=offer.asset_lock.timelock - SAFETY_MARGIN_S,
    )
    _refused(world, whole, offer, "amount")


def test_a_lock_from_a_third_party_is_not_claimed(world):
    offer = _resale(world)
    stranger = world.htlc(world.esp).lock_ether(
        world.attacker.address,
        amount=_share(world),
        hashlock=offer.asset_lock.hashlock,
        timelock=offer.asset_lock.timelock - SAFETY_MARGIN_S,
    )
    err = _refused(world, stranger, offer, "sender")
    assert err.expected == world.buyer.address and err.actual == world.esp.address


def test_the_buyers_exact_payment_is_claimed_by_the_default_call(world):
    offer = _resale(world)
    paid = buyer_pay(
        world.htlc(world.buyer),
        world.registry(world.buyer),
        offer.asset_lock,
        seller=world.attacker.address,
        token_id=offer.asset_lock.amount,
        price=PRICE,
        timelock=offer.asset_lock.timelock - SAFETY_MARGIN_S,
    )
    seller = world.htlc(world.attacker)
    seller_claim_payment(seller, paid.payment, offer, price=PRICE)
    assert seller.status(paid.payment) is LockStatus.WITHDRAWN


def test_the_royalty_is_read_from_the_token_locks_own_collection(world):
    """A client for another contract (here the BatchRegistry, whose answer may differ) is
    refused, and so is a default call for a token lock the seller's chain does not hold (a
    two-chain swap passes the token chain's collection)."""
    from ledger.clients.batch_registry import BatchRegistryClient

    offer = _resale(world)
    lock = world.htlc(world.buyer).lock_ether(
        world.attacker.address,
        amount=_share(world),
        hashlock=offer.asset_lock.hashlock,
        timelock=offer.asset_lock.timelock - SAFETY_MARGIN_S,
    )
    other = BatchRegistryClient(world.deployment)
    with pytest.raises(LockMismatch, match="token"):
        seller_claim_payment(world.htlc(world.attacker), lock, offer, price=PRICE, registry=other)
    with pytest.raises(ValueError, match="price"):
        seller_claim_payment(world.htlc(world.attacker), lock, offer, price=0)
    elsewhere = SellerOffer(replace(offer.asset_lock, timelock=offer.asset_lock.timelock + 1), b"")
    with pytest.raises(ValueError, match="registry"):  # a token lock this chain does not hold
        seller_claim_payment(world.htlc(world.attacker), lock, elsewhere, price=PRICE)
    assert world.htlc(world.attacker).status(lock) is LockStatus.OPEN
