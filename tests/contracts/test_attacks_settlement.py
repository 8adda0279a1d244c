"""Settlement races and preimage reuse on the hash-time lock, each shown failing.

Every test runs on the backend of ``world``: the guard holds with the exact custom
error, or balances and ownership come out exact.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from web3.contract import Contract

from ledger import (
    Asset,
    LockStatus,
    errors,
    new_secret,
)
from tests.contracts.attack_kit import (
    HOUR,
    erc20,
    erc721,
    gas_cost,
)
from tests.contracts.helpers import (
    FEE,
    lock_fee,
)

# --- settlement races and preimage reuse -----------------------------------------------------


def test_refund_then_withdraw_pays_only_the_sender(world):
    lock, preimage = lock_fee(world, duration=120)
    world.chain.increase_time(121)
    producer_before, esp_before = (
        world.balance(world.producer.address),
        world.balance(world.esp.address),
    )
    world.htlc(world.buyer).refund(lock)
    with pytest.raises(errors.LockNotOpen) as exc:
        world.htlc(world.buyer).withdraw(lock, preimage)
    assert exc.value.id == lock.id and exc.value.status == LockStatus.REFUNDED
    assert world.balance(world.producer.address) == producer_before + FEE
    assert world.balance(world.esp.address) == esp_before
    assert world.balance(world.deployment.htlc.address) == 0


def test_withdraw_after_expiry_fails_even_with_the_right_preimage(world):
    lock, preimage = lock_fee(world, duration=120)
    world.chain.increase_time(121 + HOUR)
    with pytest.raises(errors.LockExpired) as exc:
        world.htlc(world.esp).withdraw(lock, preimage)
    assert exc.value.id == lock.id and exc.value.expiredAt == lock.timelock
    assert world.htlc(world.esp).status(lock) is LockStatus.OPEN
    world.htlc(world.esp).refund(lock)  # the money is not stuck: it goes back
    assert world.htlc(world.esp).status(lock) is LockStatus.REFUNDED


def test_third_party_with_the_revealed_preimage_can_only_pay_the_stored_receiver(world):
    """Atomic swap: once the seller reveals s' to take the price, anyone may replay s'."""
    seller, buyer, thief = world.producer, world.buyer, world.attacker
    nft = erc721(world, seller.address, 7)
    world.tx(seller).send(nft.functions.approve(world.deployment.htlc.address, 7))
    preimage, hashlock = new_secret()
    now = world.chain.timestamp()
    token_lock = world.htlc(seller).lock_erc721(
        nft.address, buyer.address, token_id=7, hashlock=hashlock, timelock=now + 2 * HOUR
    )
    price_lock = world.htlc(buyer).lock_ether(
        seller.address, amount=FEE, hashlock=hashlock, timelock=now + HOUR
    )
    world.htlc(seller).withdraw(price_lock, preimage)
    leaked = world.htlc(thief).revealed_preimage(price_lock)
    assert leaked == preimage
    thief_before = world.balance(thief.address)

    stolen = replace(token_lock, receiver=thief.address)  # a lock naming the thief never existed
    with pytest.raises(errors.LockNotOpen) as exc:
        world.htlc(thief).withdraw(stolen, leaked)
    assert exc.value.status == LockStatus.NONE
    thief_htlc = world.htlc(thief)
    thief_htlc.withdraw(token_lock, leaked)  # allowed, but it pays the buyer

    assert nft.functions.ownerOf(7).call() == buyer.address
    assert world.balance(thief.address) == thief_before - gas_cost(thief_htlc.last_receipt)
    with pytest.raises(errors.LockNotOpen):
        world.htlc(thief).withdraw(price_lock, leaked)


@pytest.mark.parametrize("asset", [Asset.ETHER, Asset.ERC20, Asset.ERC721])
@pytest.mark.parametrize("offset", ["past", "now", "just_short"])
def test_too_short_timelocks_are_refused_and_move_nothing(world, asset, offset):
    sender, htlc = world.producer, world.htlc(world.producer)
    _, hashlock = new_secret()
    now = world.chain.timestamp()
    timelock = {"past": now - 1, "now": now, "just_short": now + world.params.min_lock_duration - 5}
    args = {"hashlock": hashlock, "timelock": timelock[offset]}
    token: Contract | None = None
    with pytest.raises(errors.LockTimelockTooShort) as exc:
        if asset is Asset.ETHER:
            htlc.lock_ether(world.esp.address, amount=FEE, **args)
        elif asset is Asset.ERC20:
            token = erc20(world, "TestERC20", sender, 1000)
            htlc.lock_erc20(token.address, world.esp.address, amount=1000, **args)
        else:
            token = erc721(world, sender.address, 1)
            world.tx(sender).send(token.functions.approve(htlc.address, 1))
            htlc.lock_erc721(token.address, world.esp.address, token_id=1, **args)
    assert exc.value.timelock == timelock[offset]
    assert exc.value.earliestAllowed > now + world.params.min_lock_duration - 5
    assert world.balance(htlc.address) == 0
    if asset is Asset.ERC20:
        assert token is not None and token.functions.balanceOf(htlc.address).call() == 0
    elif asset is Asset.ERC721:
        assert token is not None and token.functions.ownerOf(1).call() == sender.address
