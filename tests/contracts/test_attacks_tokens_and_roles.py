"""Non-standard ERC-20s, forged feedback, privileged calls and the ledger's read path under
attack, each shown failing.

Every test runs on the backend of ``world``: the guard holds with the exact custom
error, or balances and ownership come out exact.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from ledger import (
    LockStatus,
    LockTerms,
    errors,
    new_secret,
)
from tests.conftest import World
from tests.contracts.attack_kit import (
    HOUR,
    erc20,
    erc721,
)
from tests.contracts.helpers import (
    lock_fee,
    register_esp,
)

# --- non-standard ERC-20s --------------------------------------------------------------------


def test_no_return_erc20_locks_withdraws_and_refunds(world):
    token = erc20(world, "NoReturnERC20", world.producer, 1000)
    htlc = world.htlc(world.producer)
    preimage, hashlock = new_secret()
    now = world.chain.timestamp()
    paid = htlc.lock_erc20(
        token.address, world.esp.address, amount=300, hashlock=hashlock, timelock=now + HOUR
    )
    _, other_hash = new_secret()
    back = htlc.lock_erc20(
        token.address, world.esp.address, amount=700, hashlock=other_hash, timelock=now + 120
    )
    assert (paid.amount, back.amount) == (300, 700)
    assert token.functions.balanceOf(htlc.address).call() == 1000
    world.htlc(world.esp).withdraw(paid, preimage)
    world.chain.increase_time(121)
    htlc.refund(back)
    assert token.functions.balanceOf(world.esp.address).call() == 300
    assert token.functions.balanceOf(world.producer.address).call() == 700
    assert token.functions.balanceOf(htlc.address).call() == 0


def test_no_return_erc20_transfer_failure_reverts_the_lock(world):
    token = erc20(world, "NoReturnERC20", world.producer, 100)
    _, hashlock = new_secret()
    # The token reverts with no data when the balance is short; SafeERC20 passes that on
    # instead of reading the missing return value as success.
    with pytest.raises(errors.TransactionFailed):
        world.htlc(world.producer).lock_erc20(
            token.address,
            world.esp.address,
            amount=101,
            hashlock=hashlock,
            timelock=world.chain.timestamp() + HOUR,
        )
    assert token.functions.balanceOf(world.producer.address).call() == 100


def test_fee_on_transfer_lock_records_and_pays_what_arrived(world):
    token = erc20(world, "FeeOnTransferERC20", world.producer, 15_000)
    htlc = world.htlc(world.producer)
    preimage, hashlock = new_secret()
    now = world.chain.timestamp()
    paid = htlc.lock_erc20(
        token.address, world.esp.address, amount=10_000, hashlock=hashlock, timelock=now + HOUR
    )
    _, other_hash = new_secret()
    back = htlc.lock_erc20(
        token.address, world.esp.address, amount=5_000, hashlock=other_hash, timelock=now + 120
    )
    assert (paid.amount, back.amount) == (9_900, 4_950)  # 1% burnt on the way in
    balance = token.functions.balanceOf
    assert balance(htlc.address).call() == 9_900 + 4_950
    world.htlc(world.esp).withdraw(paid, preimage)
    assert balance(htlc.address).call() == 4_950  # the other lock is still fully backed
    assert balance(world.esp.address).call() == 9_900 - 99  # the token's own fee on the way out
    world.chain.increase_time(121)
    htlc.refund(back)
    assert balance(htlc.address).call() == 0
    assert balance(world.producer.address).call() == 4_950 - 49


# --- forged feedback and privileged calls ----------------------------------------------------


def _settled_fee(world: World) -> LockTerms:
    """A generation fee from the producer to the registered ESP, withdrawn by the ESP."""
    register_esp(world)
    lock, preimage = lock_fee(world)
    esps = world.esps(world.producer)
    esps.acknowledge(lock, esps.sign_quote(world.esp, lock))  # only quoted generations count
    world.htlc(world.esp).withdraw(lock, preimage)
    return lock


def test_feedback_by_someone_other_than_the_lock_sender_is_refused(world):
    lock = _settled_fee(world)
    with pytest.raises(errors.FeedbackNotLockSender) as exc:
        world.esps(world.attacker).submit_feedback(lock, positive=False)
    assert exc.value.lockId == lock.id and exc.value.caller == world.attacker.address.lower()
    assert not world.esps(world.attacker).feedback_recorded(lock)
    assert world.esps(world.attacker).producers_of(world.esp.address) == []


def test_feedback_twice_on_one_lock_is_refused(world):
    lock = _settled_fee(world)
    world.esps(world.producer).submit_feedback(lock, positive=True)
    with pytest.raises(errors.FeedbackAlreadyRecorded) as exc:
        world.esps(world.producer).submit_feedback(lock, positive=True)
    assert exc.value.lockId == lock.id
    evidence = world.esps(world.producer).evidence(world.producer.address, world.esp.address)
    assert evidence["positive"] == 10**18 and evidence["negative"] == 0


def test_feedback_on_an_open_refunded_or_unknown_lock_is_refused(world):
    register_esp(world)
    esps = world.esps(world.producer)
    open_lock, _ = lock_fee(world, duration=120)
    with pytest.raises(errors.FeedbackLockNotSettled) as exc:
        esps.submit_feedback(open_lock, positive=True)
    assert exc.value.status == LockStatus.OPEN
    with pytest.raises(errors.FeedbackLockNotSettled):
        esps.record_refund(open_lock)
    forged = replace(open_lock, amount=open_lock.amount * 100)  # a lock that never existed
    with pytest.raises(errors.FeedbackLockNotSettled) as unknown:
        esps.submit_feedback(forged, positive=True)
    assert unknown.value.status == LockStatus.NONE
    world.chain.increase_time(121)
    world.htlc(world.producer).refund(open_lock)
    with pytest.raises(errors.FeedbackLockNotSettled) as refunded:
        esps.submit_feedback(open_lock, positive=True)  # a refund is never positive evidence
    assert refunded.value.status == LockStatus.REFUNDED


def test_refund_is_recorded_once_even_after_the_esp_leaves(world):
    register_esp(world)
    lock, _ = lock_fee(world, duration=120)
    esps = world.esps(world.producer)
    esps.acknowledge(lock, esps.sign_quote(world.esp, lock))
    world.esps(world.esp).deregister()  # leaving does not erase its failures
    world.chain.increase_time(121)
    world.htlc(world.producer).refund(lock)
    world.esps(world.buyer).record_refund(lock)  # anyone may record it, once
    with pytest.raises(errors.FeedbackAlreadyRecorded):
        world.esps(world.producer).record_refund(lock)
    evidence = world.esps(world.buyer).evidence(world.producer.address, world.esp.address)
    assert evidence["negative"] == 10**18 and evidence["positive"] == 0


def test_feedback_on_an_erc721_lock_is_refused(world):
    register_esp(world)
    nft = erc721(world, world.producer.address, 3)
    world.tx(world.producer).send(nft.functions.approve(world.deployment.htlc.address, 3))
    preimage, hashlock = new_secret()
    lock = world.htlc(world.producer).lock_erc721(
        nft.address,
        world.esp.address,
        token_id=3,
        hashlock=hashlock,
        timelock=world.chain.timestamp() + HOUR,
    )
    world.htlc(world.esp).withdraw(lock, preimage)
    with pytest.raises(errors.FeedbackNotPayment) as exc:
        world.esps(world.producer).submit_feedback(lock, positive=True)
    assert exc.value.lockId == lock.id


def test_feedback_about_a_receiver_that_is_not_an_esp_is_refused(world):
    lock, preimage = lock_fee(world, receiver=world.attacker.address)  # a sock puppet
    world.htlc(world.attacker).withdraw(lock, preimage)
    with pytest.raises(errors.EspNotRegistered) as exc:
        world.esps(world.producer).submit_feedback(lock, positive=True)
    assert exc.value.esp == world.attacker.address.lower()


@pytest.mark.parametrize("caller", ["attacker", "deployer", "esp"])
def test_only_the_registry_may_report_an_upheld_challenge(world, caller):
    register_esp(world)
    account = getattr(world, caller)
    esps = world.deployment.esp_registry
    with pytest.raises(errors.EspUnauthorizedRegistry) as exc:
        world.tx(account).send(
            esps.functions.recordChallengeUpheld(world.esp.address, account.address)
        )
    assert exc.value.caller == account.address.lower()
    assert world.esps(world.buyer).challenges_lost(world.esp.address) == 0


def test_bind_registry_happens_once_and_only_by_the_deployer(world):
    esps = world.deployment.esp_registry
    bound = esps.functions.registry().call()
    assert bound == world.deployment.registry.address
    with pytest.raises(errors.EspRegistryAlreadyBound) as exc:
        world.tx(world.deployer).send(
            esps.functions.bindRegistry(world.attacker.address, world.attacker.address)
        )
    assert exc.value.registry == bound.lower()
    with pytest.raises(errors.EspUnauthorizedRegistry) as unauthorized:
        world.tx(world.attacker).send(
            esps.functions.bindRegistry(world.attacker.address, world.attacker.address)
        )
    assert unauthorized.value.caller == world.attacker.address.lower()
    assert esps.functions.registry().call() == bound


# --- the ledger's read path ------------------------------------------------------------------


@pytest.mark.both_chains  # each node reports a reverted read differently
def test_reads_that_revert_raise_the_typed_custom_error(world):
    with pytest.raises(errors.ERC721NonexistentToken) as exc:
        world.registry(world.buyer).owner_of(12345)
    assert exc.value.tokenId == 12345
