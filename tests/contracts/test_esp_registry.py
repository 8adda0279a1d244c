"""EspRegistry: registration, stake, lock-backed feedback and the evidence it keeps."""

from __future__ import annotations

import pytest

from ledger import errors
from tests.contracts.helpers import ESP_STAKE, FEE, lock_fee, register_esp, wait_out_exit_delay
from tests.contracts.test_attacks_esp_accountability import quoted_lock


def test_register_update_and_list(world):
    register_esp(world)
    client = world.esps(world.esp)
    info = client.esp_info(world.esp.address)
    assert info.active and info.stake == ESP_STAKE and info.price == FEE
    client.update("https://esp.example/v2", price=2 * FEE)
    info = client.esp_info(world.esp.address)
    assert info.endpoint == "https://esp.example/v2" and info.price == 2 * FEE
    assert client.esps() == [world.esp.address]
    assert client.is_active(world.esp.address)


def test_register_twice_low_stake_and_bad_endpoint_are_refused(world):
    register_esp(world)
    with pytest.raises(errors.EspAlreadyRegistered):
        register_esp(world)
    client = world.esps(world.buyer)
    with pytest.raises(errors.EspStakeTooLow) as exc:
        client.register("http://x", price=1, stake=ESP_STAKE - 1)
    assert exc.value.minimum == world.params.esp_min_stake
    with pytest.raises(errors.EspInvalidEndpoint):
        client.register("", price=1, stake=ESP_STAKE)
    with pytest.raises(errors.EspInvalidEndpoint):
        client.register("h" * 257, price=1, stake=ESP_STAKE)


def test_update_and_deregister_need_an_active_esp(world):
    client = world.esps(world.buyer)
    with pytest.raises(errors.EspNotRegistered):
        client.update("http://x", price=1)
    with pytest.raises(errors.EspNotRegistered):
        client.deregister()


def test_stake_unbonds_after_deregistration(world):
    register_esp(world)
    client = world.esps(world.esp)
    with pytest.raises(errors.EspStakeLocked):
        client.withdraw_stake()
    client.deregister()
    assert not client.is_active(world.esp.address)
    with pytest.raises(errors.EspStakeLocked):
        client.withdraw_stake()
    world.chain.increase_time(world.params.esp_unbonding_period + 1)
    with pytest.raises(errors.EspStakeHeld):  # unbonded, but its images' disputes may be open
        client.withdraw_stake()
    wait_out_exit_delay(world)
    before = world.balance(world.esp.address)
    client.withdraw_stake()
    receipt = client.last_receipt
    spent = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert world.balance(world.esp.address) == before + ESP_STAKE - spent
    assert world.balance(client.address) == 0
    with pytest.raises(errors.EspStakeLocked):
        client.withdraw_stake()


def test_feedback_from_the_sender_of_a_withdrawn_lock_becomes_evidence(world):
    register_esp(world)
    lock, preimage = quoted_lock(world)
    world.htlc(world.esp).withdraw(lock, preimage)
    client = world.esps(world.producer)
    client.submit_feedback(lock, positive=True)
    assert client.feedback_recorded(lock)
    evidence = client.evidence(world.producer.address, world.esp.address)
    assert evidence["positive"] > 0 and evidence["negative"] == 0
    assert client.producers_of(world.esp.address) == [world.producer.address]


def test_negative_feedback_counts_against_the_esp(world):
    register_esp(world)
    lock, preimage = quoted_lock(world)
    world.htlc(world.esp).withdraw(lock, preimage)
    world.esps(world.producer).submit_feedback(lock, positive=False)
    evidence = world.esps(world.producer).evidence(world.producer.address, world.esp.address)
    assert evidence["negative"] > 0 and evidence["positive"] == 0


def test_a_refunded_lock_is_recorded_as_negative_by_anyone(world):
    register_esp(world)
    lock, _ = quoted_lock(world, duration=120)
    world.chain.increase_time(121)
    world.htlc(world.producer).refund(lock)
    world.esps(world.buyer).record_refund(lock)  # a third party records it: no consent needed
    evidence = world.esps(world.buyer).evidence(world.producer.address, world.esp.address)
    assert evidence["negative"] > 0
    with pytest.raises(errors.FeedbackAlreadyRecorded):
        world.esps(world.producer).record_refund(lock)


def test_refund_record_needs_a_refunded_lock(world):
    register_esp(world)
    lock, preimage = lock_fee(world)
    with pytest.raises(errors.FeedbackLockNotSettled):
        world.esps(world.buyer).record_refund(lock)
    world.htlc(world.esp).withdraw(lock, preimage)
    with pytest.raises(errors.FeedbackLockNotSettled):
        world.esps(world.buyer).record_refund(lock)


def test_upheld_challenge_is_recorded_only_by_the_registry(world):
    register_esp(world)
    with pytest.raises(errors.EspUnauthorizedRegistry):
        world.tx(world.attacker).send(
            world.deployment.esp_registry.functions.recordChallengeUpheld(
                world.esp.address, world.attacker.address
            )
        )
    assert world.esps(world.esp).challenges_lost(world.esp.address) == 0
