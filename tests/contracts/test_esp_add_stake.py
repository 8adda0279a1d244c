"""EspRegistry.addStake: an ESP tops up its stake after a slash, and one that a slash pushed out
of service (its stake under half the minimum) serves again once it is back at the minimum,
without withdrawing and re-registering through the unbonding period and the exit delay.

A deregistered (exiting) ESP cannot use it: its exit rules run their course. Every test runs on
every chain backend (``world``).
"""

from __future__ import annotations

import pytest

from ledger import errors
from tests.conftest import World
from tests.contracts.attack_kit import register_image, settle_after_hold
from tests.contracts.helpers import (
    BASE_FP,
    ESP_STAKE,
    FEE,
    NEAR_FP,
    challenge_and_finalize,
    copier_esp,
    details,
    lock_fee,
    wait_out_exit_delay,
)
from tests.contracts.test_attacks_esp_accountability import quoted_lock

EXTRA = ESP_STAKE // 4  # above the minimum: two slashes leave it, under half the minimum


def _copies(world: World, n: int) -> tuple[int, list[int]]:
    """A copier ESP's original and ``n`` near copies of it that ``world.esp`` attests."""
    original = register_image(
        world, world.producer, world.producer.address, fp=BASE_FP, esp=copier_esp(world)
    )
    copies = []
    for k in range(n):
        owner = world.accounts[(7, 8, 9)[k]]
        copies.append(
            register_image(
                world, owner, owner.address, fp=NEAR_FP, detail=details()["near"], esp=world.esp
            )
        )
    return original, copies


def _revoke(world: World, original: int, copies: list[int]) -> None:
    """Each copy is revoked and settled: ``world.esp`` is slashed ``esp_slash_amount`` (half the
    minimum stake) for each."""
    for copy in copies:
        assert challenge_and_finalize(world, world.producer, original, copy)
        settle_after_hold(world, original, copy)


def _lose_challenges(world: World, n: int) -> None:
    _revoke(world, *_copies(world, n))


def _staked(world: World, stake: int = ESP_STAKE + EXTRA) -> None:
    world.esps(world.esp).register("http://esp.example", price=FEE, stake=stake)


def _slashed_out(world: World) -> None:
    """``world.esp``, staked at the minimum plus a quarter, loses two challenges: ``EXTRA`` is
    left (under half the minimum), and it stops serving."""
    _staked(world)
    _lose_challenges(world, 2)
    info = world.esps(world.buyer).esp_info(world.esp.address)
    assert (info.stake, info.active) == (EXTRA, False)


def test_an_active_esp_tops_up_its_stake_after_a_slash(world):
    _staked(world)
    _lose_challenges(world, 1)
    client = world.esps(world.esp)
    slash = world.params.esp_slash_amount
    assert client.esp_info(world.esp.address).stake == ESP_STAKE + EXTRA - slash
    client.add_stake(slash)
    info = client.esp_info(world.esp.address)
    assert (info.stake, info.active) == (ESP_STAKE + EXTRA, True)
    with pytest.raises(errors.EspStakeTooLow):  # nothing added
        client.add_stake(0)


def test_a_slashed_out_esp_serves_again_once_back_at_the_minimum(world):
    """Before: it had to deregister (it could not: inactive), wait out the unbonding period and
    the exit delay, withdraw and register again. Now a top-up short of the minimum is refused
    (``EspStakeTooLow``, the stake it would have); at the minimum it is active from that block:
    it accepts and is paid new work, while the blocks it was out stay out (a lock paid then
    gives no registration)."""
    _slashed_out(world)
    client = world.esps(world.esp)
    reader = world.esps(world.buyer)
    out_block = world.chain.w3.eth.block_number
    with pytest.raises(errors.EspStakeTooLow) as short:
        client.add_stake(ESP_STAKE - EXTRA - 1)
    assert short.value.sent == ESP_STAKE - 1
    lock, _ = lock_fee(world)
    with pytest.raises(errors.EspNotRegistered):  # still out: no new work
        world.esps(world.producer).acknowledge(lock, world.esps(world.producer).sign_quote(
            world.esp, lock
        ))  # fmt: skip
    client.add_stake(ESP_STAKE - EXTRA)
    back = world.chain.w3.eth.block_number
    info = reader.esp_info(world.esp.address)
    assert (info.stake, info.active, info.unbonding_ends_at) == (ESP_STAKE, True, 0)
    assert info.challenges_lost == 2  # its record stays
    assert reader.was_active_at(world.esp.address, back)
    assert not reader.was_active_at(world.esp.address, out_block + 1)  # the gap stays a gap
    quoted_lock(world)  # new work is accepted again


def test_a_deregistered_esp_cannot_top_up_out_of_its_exit(world):
    """An exiting ESP (deregistered itself) that adds stake would be back in service without
    its unbonding and exit delay: refused (``EspNotRegistered``), also once a slash during its
    exit has taken it under half the minimum; it withdraws after its exit and registers again."""
    _staked(world)
    original, copies = _copies(world, 2)  # images it attests while serving
    client = world.esps(world.esp)
    client.deregister()
    with pytest.raises(errors.EspNotRegistered):
        client.add_stake(EXTRA)
    _revoke(world, original, copies)  # slashed twice during its exit
    info = client.esp_info(world.esp.address)
    assert (info.stake, info.active) == (EXTRA, False)
    with pytest.raises(errors.EspNotRegistered):
        client.add_stake(ESP_STAKE)
    with pytest.raises(errors.EspStakeLocked):  # its unbonding still runs
        client.withdraw_stake()


def test_a_slashed_out_esp_that_withdrew_registers_again_and_a_stranger_cannot_top_up(world):
    """The top-up is for an ESP whose stake is still in: once withdrawn (after the unbonding
    and the exit delay) it registers as anyone does, and an address that never registered
    gets ``EspNotRegistered``."""
    with pytest.raises(errors.EspNotRegistered):
        world.esps(world.buyer).add_stake(ESP_STAKE)
    _slashed_out(world)
    client = world.esps(world.esp)
    world.chain.increase_time(world.params.esp_unbonding_period + 1)
    wait_out_exit_delay(world)
    client.withdraw_stake()
    with pytest.raises(errors.EspNotRegistered):
        client.add_stake(ESP_STAKE)
    _staked(world, ESP_STAKE)
    assert client.is_active(world.esp.address)
    client.deregister()  # and as any ESP that left itself, it cannot top up out of the exit
    with pytest.raises(errors.EspNotRegistered):
        client.add_stake(ESP_STAKE)
