"""Re-entrancy attacks (ETH and ERC-721 receivers, stake and challenge payouts), each shown failing.

Every test runs on every chain backend (``world``): the guard holds with the exact custom
error, or balances and ownership come out exact.
"""

from __future__ import annotations

import pytest

from ledger import (
    LockStatus,
    LockTerms,
    TokenStatus,
    errors,
    new_secret,
)
from tests.contracts.attack_kit import (
    HOUR,
    Attacker,
    erc721,
    locked_terms,
    register_image,
)
from tests.contracts.helpers import (
    BASE_FP,
    ESP_STAKE,
    FEE,
    NEAR_FP,
    lock_fee,
    register_esp,
)

# --- re-entrancy -----------------------------------------------------------------------------


@pytest.mark.parametrize("reenter", ["withdraw_same", "withdraw_other", "refund_other"])
def test_ether_receiver_reentering_the_htlc_is_paid_once(world, reenter):
    register_esp(world)
    attacker = Attacker(world, world.attacker)
    htlc = world.deployment.htlc
    lock, preimage = lock_fee(world, receiver=attacker.address, duration=HOUR)
    other, other_preimage = lock_fee(world, receiver=attacker.address, amount=2 * FEE, duration=120)
    if reenter == "withdraw_same":
        attacker.arm(htlc, "withdraw", lock.as_tuple(), preimage)
    elif reenter == "withdraw_other":
        attacker.arm(htlc, "withdraw", other.as_tuple(), other_preimage)
    else:
        world.chain.increase_time(121)  # `other` is refundable, `lock` still withdrawable
        attacker.arm(htlc, "refund", other.as_tuple())
    producer_before = world.balance(world.producer.address)

    world.htlc(world.buyer).withdraw(lock, preimage)  # the payment triggers the re-entry

    assert attacker.attempted and not attacker.reentered
    assert world.balance(attacker.address) == FEE
    assert world.balance(htlc.address) == 2 * FEE
    assert world.balance(world.producer.address) == producer_before
    htlc_client = world.htlc(world.buyer)
    assert htlc_client.status(lock) is LockStatus.WITHDRAWN
    assert htlc_client.status(other) is LockStatus.OPEN
    with pytest.raises(errors.LockNotOpen) as exc:
        htlc_client.withdraw(lock, preimage)
    assert exc.value.status == LockStatus.WITHDRAWN
    # Outside the guarded call the inner operation is valid: only the guard stopped it.
    if reenter == "refund_other":
        htlc_client.refund(other)
        assert world.balance(world.producer.address) == producer_before + 2 * FEE
    else:
        htlc_client.withdraw(other, other_preimage)
        assert world.balance(attacker.address) == 3 * FEE
    assert world.balance(htlc.address) == 0


def test_ether_sender_reentering_refund_is_refunded_once(world):
    attacker = Attacker(world, world.attacker)
    htlc = world.deployment.htlc
    timelock = world.chain.timestamp() + 120
    locks = []
    for amount in (FEE, 2 * FEE):
        _, hashlock = new_secret()
        receipt = attacker.execute(
            htlc, "lockEther", world.esp.address, hashlock, timelock, value=amount
        )
        locks.append(locked_terms(world, receipt))
    first, second = locks
    assert first.sender == attacker.address and first.amount == FEE
    attacker.arm(htlc, "refund", second.as_tuple())
    world.chain.increase_time(121)

    world.htlc(world.buyer).refund(first)

    assert attacker.attempted and not attacker.reentered
    assert world.balance(attacker.address) == FEE
    assert world.htlc(world.buyer).status(second) is LockStatus.OPEN
    assert world.balance(htlc.address) == 2 * FEE
    world.htlc(world.buyer).refund(second)
    assert world.balance(attacker.address) == 3 * FEE


@pytest.mark.parametrize("path", ["withdraw", "refund"])
def test_erc721_receiver_reentering_on_transfer_gets_only_its_own_token(world, path):
    attacker = Attacker(world, world.attacker)
    htlc = world.deployment.htlc
    timelock = world.chain.timestamp() + 120
    secrets_ = [new_secret(), new_secret()]
    locks: list[LockTerms] = []
    if path == "withdraw":  # the attacker is the receiver: onERC721Received fires on withdraw
        nft = erc721(world, world.producer.address, 1, 2)
        world.tx(world.producer).send(nft.functions.setApprovalForAll(htlc.address, True))
        for token_id, (_, hashlock) in zip((1, 2), secrets_, strict=True):
            locks.append(
                world.htlc(world.producer).lock_erc721(
                    nft.address,
                    attacker.address,
                    token_id=token_id,
                    hashlock=hashlock,
                    timelock=timelock,
                )
            )
        attacker.arm(htlc, "withdraw", locks[1].as_tuple(), secrets_[1][0])
        world.htlc(world.buyer).withdraw(locks[0], secrets_[0][0])
    else:  # the attacker is the sender: onERC721Received fires on refund
        nft = erc721(world, attacker.address, 1, 2)
        attacker.execute(nft, "setApprovalForAll", htlc.address, True)
        for token_id, (_, hashlock) in zip((1, 2), secrets_, strict=True):
            receipt = attacker.execute(
                htlc, "lockERC721", nft.address, token_id, world.buyer.address, hashlock, timelock
            )
            locks.append(locked_terms(world, receipt))
        attacker.arm(htlc, "refund", locks[1].as_tuple())
        world.chain.increase_time(121)
        world.htlc(world.buyer).refund(locks[0])

    assert attacker.attempted and not attacker.reentered
    assert nft.functions.ownerOf(1).call() == attacker.address
    assert nft.functions.ownerOf(2).call() == htlc.address
    assert world.htlc(world.buyer).status(locks[1]) is LockStatus.OPEN


def test_challenger_reentering_on_its_reward_cannot_release_its_bond_twice(world):
    register_esp(world)
    attacker = Attacker(world, world.attacker)
    registry = world.deployment.registry
    params = world.registry(world.producer).params()
    bond, deposit = params["bond"], params["challenge_deposit"]
    original = register_image(world, world.attacker, attacker.address, fp=BASE_FP)
    duplicate = register_image(world, world.producer, world.producer.address, fp=NEAR_FP)
    world.chain.mine(params["bond_lock_blocks"])  # the original's bond is now releasable
    attacker.arm(registry, "releaseBond", original)

    attacker.execute(registry, "challenge", original, duplicate, value=deposit)

    assert attacker.attempted and not attacker.reentered
    assert world.balance(attacker.address) == deposit + bond  # deposit back + the plagiarist's bond
    assert world.balance(registry.address) == bond  # the original's bond, still held
    assert world.registry(world.buyer).record(original).bond_held
    assert world.registry(world.buyer).record(duplicate).status is TokenStatus.REVOKED
    world.registry(world.buyer).release_bond(original)
    assert world.balance(attacker.address) == deposit + 2 * bond
    assert world.balance(registry.address) == 0


def test_esp_reentering_withdraw_stake_is_paid_its_stake_once(world):
    register_esp(world)  # an honest ESP whose stake must stay put
    attacker = Attacker(world, world.attacker)
    esps = world.deployment.esp_registry
    attacker.execute(esps, "register", "http://evil.example", FEE, value=ESP_STAKE)
    attacker.execute(esps, "deregister")
    world.chain.increase_time(world.params.esp_unbonding_period)
    attacker.arm(esps, "withdrawStake")

    attacker.execute(esps, "withdrawStake")

    assert attacker.attempted and not attacker.reentered
    assert world.balance(attacker.address) == ESP_STAKE
    assert world.balance(esps.address) == ESP_STAKE
    with pytest.raises(errors.EspStakeLocked):
        attacker.execute(esps, "withdrawStake")


def test_receiver_refusing_ether_cannot_freeze_the_lock(world):
    attacker = Attacker(world, world.attacker)
    attacker.tx.send(attacker.contract.functions.setRejectEther(True))
    lock, preimage = lock_fee(world, receiver=attacker.address, duration=120)
    with pytest.raises(errors.LockTransferFailed) as exc:
        world.htlc(world.buyer).withdraw(lock, preimage)
    assert exc.value.to == attacker.address.lower() and exc.value.amount == FEE
    assert world.htlc(world.buyer).status(lock) is LockStatus.OPEN
    world.chain.increase_time(121)
    before = world.balance(world.producer.address)
    world.htlc(world.buyer).refund(lock)
    assert world.balance(world.producer.address) == before + FEE
    assert world.balance(world.deployment.htlc.address) == 0
