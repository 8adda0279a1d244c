"""Re-entrancy attacks (ETH and ERC-721 receivers, stake payouts, a challenger's settle payout, a
contester's resolve payout), each shown failing.

Every test runs on the backend of ``world``: the guard holds with the exact custom
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
from ledger.clients.registry import DisputeState
from tests.conftest import World
from tests.contracts.attack_kit import (
    HOUR,
    Attacker,
    erc721,
    locked_terms,
    proof,
    register_image,
)
from tests.contracts.helpers import (
    BASE_FP,
    ESP_STAKE,
    FEE,
    NEAR_FP,
    copier_esp,
    details,
    lock_fee,
    register_esp,
    wait_out_exit_delay,
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
    """The escrow moves an ERC-721 leg with ``transferFrom`` (red team 6: a receiver without
    ``onERC721Received`` could not claim a token it had paid for), so no receiver hook runs on
    withdraw or refund: the armed re-entry never fires and each lock pays only its own token."""
    attacker = Attacker(world, world.attacker)
    htlc = world.deployment.htlc
    timelock = world.chain.timestamp() + 120
    secrets_ = [new_secret(), new_secret()]
    locks: list[LockTerms] = []
    if path == "withdraw":  # the attacker is the receiver
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
    else:  # the attacker is the sender
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

    assert not attacker.attempted and not attacker.reentered  # no hook is called
    assert nft.functions.ownerOf(1).call() == attacker.address
    assert nft.functions.ownerOf(2).call() == htlc.address
    assert world.htlc(world.buyer).status(locks[1]) is LockStatus.OPEN


def _attacker_original(world: World, attacker: Attacker) -> int:
    """An image owned by the attacker contract, backed by the contract's own paid generation."""
    lock = attacker.paid_lock(world.esp)
    return register_image(world, world.attacker, attacker.address, fp=BASE_FP, lock=lock)


def test_challenger_reentering_on_its_settle_payout_is_paid_once(world):
    """The attacker contract revokes two copies; when the first revocation settles, it re-enters
    ``settle`` of the second on receiving its deposit and reward."""
    register_esp(world)
    attacker = Attacker(world, world.attacker)
    registry = world.deployment.registry
    p = world.params
    bond, deposit, reward = p.registration_bond, p.challenge_deposit, p.challenge_reward
    original = _attacker_original(world, attacker)
    copies = [
        register_image(
            world,
            owner,
            owner.address,
            fp=NEAR_FP,
            detail=details()["near"],
            esp=copier_esp(world),
        )
        for owner in (world.producer, world.buyer)
    ]
    for copy in copies:
        attacker.execute(
            registry,
            "challenge",
            original,
            copy,
            proof(world, original).as_tuple(),
            proof(world, copy).as_tuple(),
            value=deposit,
        )
    world.chain.mine(p.dispute_window_blocks + 1)
    for copy in copies:
        assert world.registry(world.buyer).finalize(original, copy) is True
    world.chain.mine(p.reward_hold_blocks)
    attacker.arm(registry, "settle", original, copies[1], proof(world, copies[1]).as_tuple())

    world.registry(world.buyer).settle(original, copies[0])

    assert attacker.attempted and not attacker.reentered
    assert world.balance(attacker.address) == deposit + reward
    assert world.registry(world.buyer).dispute(original, copies[1]).state is DisputeState.UPHELD
    assert world.balance(registry.address) == 2 * bond + deposit  # its own bond + copy 2's
    world.registry(world.buyer).settle(original, copies[1])  # valid outside the guarded call
    assert world.balance(attacker.address) == 2 * (deposit + reward)
    assert world.balance(registry.address) == bond


def test_contester_reentering_on_its_resolve_payout_is_paid_once(world):
    """Two owners falsely accuse the attacker contract's image (compact match, far detail); it
    contests both and, paid for the first rejection, re-enters ``resolve`` of the second."""
    register_esp(world)
    attacker = Attacker(world, world.attacker)
    registry = world.deployment.registry
    deposit, bond = world.params.challenge_deposit, world.params.registration_bond
    originals = [register_image(world, o, o.address) for o in (world.producer, world.buyer)]
    lock = attacker.paid_lock(world.esp)
    accused = register_image(
        world, world.attacker, attacker.address, fp=NEAR_FP, detail=details()["far"], lock=lock
    )
    for owner, original in zip((world.producer, world.buyer), originals, strict=True):
        world.registry(owner).challenge(original, accused)
        attacker.execute(registry, "contest", original, accused, value=deposit)
    second = originals[1]
    attacker.arm(
        registry,
        "resolve",
        second,
        accused,
        proof(world, second).as_tuple(),
        proof(world, accused).as_tuple(),
        details()["base"],
        details()["far"],
    )

    assert world.registry(world.buyer).resolve(originals[0], accused) is False

    # A payment forwards 100,000 gas since red team 3: the re-entry (4 KiB of stored calldata)
    # runs out before the guard, and the refused payment is kept for `withdrawOwed`.
    assert not attacker.reentered
    attacker.tx.send(attacker.contract.functions.arm("0x" + "00" * 20, b""))  # disarmed
    attacker.execute(registry, "withdrawOwed")
    assert world.balance(attacker.address) == 2 * deposit
    assert world.registry(world.buyer).dispute(second, accused).state is DisputeState.CONTESTED
    assert world.balance(registry.address) == 3 * bond + 2 * deposit
    assert world.registry(world.buyer).resolve(second, accused) is False  # valid outside
    assert world.balance(attacker.address) == 4 * deposit
    assert world.balance(registry.address) == 3 * bond
    assert world.registry(world.buyer).record(accused).status is TokenStatus.ACTIVE


def test_contester_refusing_ether_cannot_block_its_revocation(world):
    """A contract that reverts on receiving Ether contests a true copy charge: the upheld
    resolution and the settlement pay it nothing, so neither can be blocked."""
    register_esp(world)
    attacker = Attacker(world, world.attacker)
    attacker.tx.send(attacker.contract.functions.setRejectEther(True))
    registry = world.deployment.registry
    deposit, reward = world.params.challenge_deposit, world.params.challenge_reward
    original = register_image(world, world.producer, world.producer.address)
    lock = attacker.paid_lock(copier_esp(world))  # another ESP than the original's
    copy = register_image(
        world, world.attacker, attacker.address, fp=NEAR_FP, detail=details()["near"], lock=lock
    )
    challenger = world.registry(world.producer)
    challenger.challenge(original, copy)
    attacker.execute(registry, "contest", original, copy, value=deposit)
    assert world.registry(world.buyer).resolve(original, copy) is True
    world.chain.mine(world.params.reward_hold_blocks)
    before = world.balance(world.producer.address)
    world.registry(world.buyer).settle(original, copy)
    assert world.balance(world.producer.address) == before + 2 * deposit + reward
    assert challenger.record(copy).status is TokenStatus.REVOKED


def test_esp_reentering_withdraw_stake_is_paid_its_stake_once(world):
    register_esp(world)  # an honest ESP whose stake must stay put
    attacker = Attacker(world, world.attacker)
    esps = world.deployment.esp_registry
    attacker.execute(esps, "register", "http://evil.example", FEE, value=ESP_STAKE)
    attacker.execute(esps, "deregister")
    world.chain.increase_time(world.params.esp_unbonding_period)
    wait_out_exit_delay(world)
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
