"""HashTimeLock: every function and custom error, on both chain backends."""

from __future__ import annotations

import hashlib

import pytest

from ledger import Asset, LockStatus, errors, new_secret
from tests.contracts.helpers import FEE, lock_fee

# The base client suite (every custom error decoded from both nodes' revert formats).
pytestmark = pytest.mark.both_chains


def test_lock_ether_stores_one_commitment_and_emits_every_field(world):
    lock, _ = lock_fee(world)
    htlc = world.htlc(world.producer)
    assert lock.sender == world.producer.address and lock.receiver == world.esp.address
    assert lock.asset is Asset.ETHER and lock.amount == FEE
    assert htlc.status(lock) is LockStatus.OPEN
    assert htlc.status_of_id(lock.id) is LockStatus.OPEN
    assert bytes(htlc.contract.functions.lockId(lock.as_tuple()).call()) == lock.id
    assert world.balance(htlc.address) == FEE


def test_withdraw_pays_the_receiver_and_publishes_the_preimage(world):
    lock, preimage = lock_fee(world)
    before = world.balance(world.esp.address)
    world.htlc(world.buyer).withdraw(lock, preimage)  # anyone may send it: the receiver is paid
    assert world.balance(world.esp.address) == before + FEE
    htlc = world.htlc(world.producer)
    assert htlc.status(lock) is LockStatus.WITHDRAWN
    assert htlc.revealed_preimage(lock) == preimage
    assert world.balance(htlc.address) == 0


def test_refund_after_timelock_returns_to_sender(world):
    lock, _ = lock_fee(world, duration=120)
    world.chain.increase_time(121)
    before = world.balance(world.producer.address)
    world.htlc(world.esp).refund(lock)  # sent by someone else: the sender still gets it back
    assert world.balance(world.producer.address) == before + FEE
    assert world.htlc(world.producer).status(lock) is LockStatus.REFUNDED


def test_withdraw_with_wrong_preimage_reverts(world):
    lock, _ = lock_fee(world)
    with pytest.raises(errors.LockPreimageMismatch) as exc:
        world.htlc(world.esp).withdraw(lock, b"\x00" * 32)
    assert exc.value.hashlock == lock.hashlock and exc.value.id == lock.id


def test_withdraw_at_or_after_timelock_reverts(world):
    lock, preimage = lock_fee(world, duration=120)
    world.chain.increase_time(120)
    with pytest.raises(errors.LockExpired) as exc:
        world.htlc(world.esp).withdraw(lock, preimage)
    assert exc.value.expiredAt == lock.timelock


def test_refund_before_timelock_reverts(world):
    lock, _ = lock_fee(world)
    with pytest.raises(errors.LockNotExpired) as exc:
        world.htlc(world.producer).refund(lock)
    assert exc.value.expiresAt == lock.timelock


def test_each_lock_settles_exactly_once(world):
    lock, preimage = lock_fee(world, duration=120)
    world.htlc(world.esp).withdraw(lock, preimage)
    with pytest.raises(errors.LockNotOpen) as exc:
        world.htlc(world.esp).withdraw(lock, preimage)
    assert exc.value.status == LockStatus.WITHDRAWN
    world.chain.increase_time(200)
    with pytest.raises(errors.LockNotOpen):
        world.htlc(world.producer).refund(lock)


def test_unknown_lock_is_not_open(world):
    lock, _ = lock_fee(world)
    forged = type(lock)(**{**lock.__dict__, "amount": lock.amount * 10})
    with pytest.raises(errors.LockNotOpen) as exc:
        world.htlc(world.esp).withdraw(forged, b"\x00" * 32)
    assert exc.value.status == LockStatus.NONE


def test_same_lock_twice_is_refused(world):
    _, hashlock = new_secret()
    htlc = world.htlc(world.producer)
    timelock = world.chain.timestamp() + 3600
    htlc.lock_ether(world.esp.address, amount=FEE, hashlock=hashlock, timelock=timelock)
    with pytest.raises(errors.LockAlreadyExists):
        htlc.lock_ether(world.esp.address, amount=FEE, hashlock=hashlock, timelock=timelock)


def test_too_short_timelock_zero_amount_and_zero_receiver_are_refused(world):
    htlc = world.htlc(world.producer)
    _, hashlock = new_secret()
    now = world.chain.timestamp()
    with pytest.raises(errors.LockTimelockTooShort) as exc:
        htlc.lock_ether(world.esp.address, amount=FEE, hashlock=hashlock, timelock=now + 10)
    assert exc.value.earliestAllowed >= now + world.params.min_lock_duration
    with pytest.raises(errors.LockZeroAmount):
        htlc.lock_ether(world.esp.address, amount=0, hashlock=hashlock, timelock=now + 3600)
    with pytest.raises(errors.LockZeroReceiver):
        htlc.lock_ether("0x" + "00" * 20, amount=FEE, hashlock=hashlock, timelock=now + 3600)
    assert htlc.min_lock_duration() == world.params.min_lock_duration


def test_erc20_lock_withdraw_and_refund(world):
    token_addr = world.deploy_test_contract("TestERC20")
    token = world.contract("TestERC20", token_addr)
    world.tx(world.producer).send(token.functions.mint(world.producer.address, 1000))
    world.tx(world.producer).send(token.functions.approve(world.deployment.htlc.address, 1000))
    preimage, hashlock = new_secret()
    htlc = world.htlc(world.producer)
    lock = htlc.lock_erc20(
        token_addr,
        world.esp.address,
        amount=400,
        hashlock=hashlock,
        timelock=world.chain.timestamp() + 3600,
    )
    assert lock.asset is Asset.ERC20 and lock.amount == 400
    world.htlc(world.esp).withdraw(lock, preimage)
    assert token.functions.balanceOf(world.esp.address).call() == 400
    _, h2 = new_secret()
    lock2 = htlc.lock_erc20(
        token_addr,
        world.esp.address,
        amount=600,
        hashlock=h2,
        timelock=world.chain.timestamp() + 100,
    )
    world.chain.increase_time(101)
    htlc.refund(lock2)
    assert token.functions.balanceOf(world.producer.address).call() == 600


def test_erc20_lock_of_a_non_contract_is_refused(world):
    _, hashlock = new_secret()
    with pytest.raises(errors.LockInvalidToken):
        world.htlc(world.producer).lock_erc20(
            world.buyer.address,
            world.esp.address,
            amount=1,
            hashlock=hashlock,
            timelock=world.chain.timestamp() + 3600,
        )


def test_erc721_lock_withdraw_to_receiver(world):
    nft_addr = world.deploy_test_contract("TestERC721")
    nft = world.contract("TestERC721", nft_addr)
    world.tx(world.producer).send(nft.functions.mint(world.producer.address, 42))
    world.tx(world.producer).send(nft.functions.approve(world.deployment.htlc.address, 42))
    preimage, hashlock = new_secret()
    lock = world.htlc(world.producer).lock_erc721(
        nft_addr,
        world.buyer.address,
        token_id=42,
        hashlock=hashlock,
        timelock=world.chain.timestamp() + 3600,
    )
    assert (
        lock.asset is Asset.ERC721
        and nft.functions.ownerOf(42).call() == world.deployment.htlc.address
    )
    world.htlc(world.buyer).withdraw(lock, preimage)
    assert nft.functions.ownerOf(42).call() == world.buyer.address


def test_hashlock_is_sha256_of_the_preimage(world):
    preimage = bytes(range(32))
    hashlock = hashlib.sha256(preimage).digest()
    lock = world.htlc(world.producer).lock_ether(
        world.esp.address, amount=FEE, hashlock=hashlock, timelock=world.chain.timestamp() + 3600
    )
    world.htlc(world.esp).withdraw(lock, preimage)
    assert world.htlc(world.esp).status(lock) is LockStatus.WITHDRAWN


def _past_claim_window(world, lock_id: bytes) -> int:
    """Mines so that the next transaction lands one block past the lock's claim window."""
    htlc = world.htlc(world.deployer)
    last = htlc.lock_info(lock_id)[1] + htlc.claim_window()
    world.chain.mine(last - int(world.chain.w3.eth.block_number))
    return last


def test_an_erc20_lock_is_claimed_within_the_claim_window_only(world):
    """A fee may be paid in an ERC-20 token (the Registry accepts any but an ERC-721 lock), so
    the claim window bounds it as an Ether lock: ``LockClaimWindowClosed`` one block past it,
    the token refunds at the timelock."""
    token_addr = world.deploy_test_contract("TestERC20")
    token = world.contract("TestERC20", token_addr)
    world.tx(world.producer).send(token.functions.mint(world.producer.address, 1000))
    world.tx(world.producer).send(token.functions.approve(world.deployment.htlc.address, 1000))
    preimage, hashlock = new_secret()
    htlc = world.htlc(world.producer)
    lock = htlc.lock_erc20(
        token_addr,
        world.esp.address,
        amount=400,
        hashlock=hashlock,
        timelock=world.chain.timestamp() + 3600,
    )
    last = _past_claim_window(world, lock.id)
    with pytest.raises(errors.LockClaimWindowClosed) as refused:
        world.htlc(world.esp).withdraw(lock, preimage)
    assert refused.value.fields["lastBlock"] == last
    world.chain.increase_time(3600)
    htlc.refund(lock)
    assert token.functions.balanceOf(world.producer.address).call() == 1000


def test_an_erc721_lock_is_claimed_after_the_claim_window(world):
    """A sale's token leg is not bounded in blocks: its buyer claims it with the secret the
    seller published claiming the payment, whose own claim window starts later (the payment is
    locked after the token). Bounded, a seller claiming at the end of its payment's window
    would leave the buyer a token leg already closed."""
    nft_addr = world.deploy_test_contract("TestERC721")
    nft = world.contract("TestERC721", nft_addr)
    world.tx(world.producer).send(nft.functions.mint(world.producer.address, 7))
    world.tx(world.producer).send(nft.functions.approve(world.deployment.htlc.address, 7))
    preimage, hashlock = new_secret()
    lock = world.htlc(world.producer).lock_erc721(
        nft_addr,
        world.buyer.address,
        token_id=7,
        hashlock=hashlock,
        timelock=world.chain.timestamp() + 3600,
    )
    _past_claim_window(world, lock.id)
    world.htlc(world.buyer).withdraw(lock, preimage)
    assert nft.functions.ownerOf(7).call() == world.buyer.address


def test_the_registries_refuse_an_htlc_whose_claim_window_is_not_shorter_than_theirs(world):
    """A deployment whose HTLC lets a fee be claimed as late as the registration window's last
    block (or later) would let an ESP deliver late again: the Registry's constructor refuses it
    (``RegistryWrongValue(claimWindow, registrationWindow)``; the BatchRegistry's constructor
    has the same check, ``BatchWrongValue``)."""
    from dataclasses import dataclass

    from ledger.deploy import DeployParams, deploy

    @dataclass(frozen=True)
    class _WholeWindow(DeployParams):
        @property
        def claim_window_blocks(self) -> int:
            return self.registration_window_blocks

    params = _WholeWindow(registration_window_blocks=world.params.registration_window_blocks)
    with pytest.raises(errors.RegistryWrongValue) as refused:
        deploy(world.chain, world.deployer, params)
    window = world.params.registration_window_blocks
    assert refused.value.fields == {"sent": window, "required": window}
