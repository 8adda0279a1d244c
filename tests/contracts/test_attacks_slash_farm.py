"""Farming honest ESPs' stakes with one's own false matches (found in review, wave 2).

An upheld challenge slashes the copy's ESP. The stake was paid to the challenger as the injured
party, so a challenge against one's *own* registration turned an honest ESP's stake into a
bounty: the attacker pays two honest ESPs for generations, computes the compact fingerprints of
what it received (they are public functions of the bytes), keeps a pair the rule admits (about
5.9e-3 of pairs of the bundled model's images with different prompts: 13 images at each ESP find
one), registers one image through each ESP and challenges the later one with the earlier.
Uncontested it is upheld on the compact rule alone; contested, the detail rule needs a pair it
matches, rarer but just as searchable off chain. Measured before the fix (this file, py-evm): the
slash (0.05 ETH) owed to the attacker against two fees (0.002 ETH) and one bond (0.01 ETH, 0.0002
back as the reward): +0.038 ETH per farm, until every honest ESP's stake is gone.

Money that a challenge moves from a third party (the copy's ESP) is farmable whenever false matches
exist and can be searched for, so the slash is now burned: the ESP still answers with its stake
(it loses it, its losses count, it stops serving below half the minimum), and nobody profits.
The challenger gets back its costs (deposit, ``challengeReward``), as before.
"""

from __future__ import annotations

import pytest

from tests.conftest import World
from tests.contracts.attack_kit import burn_address, gas_cost, register_image, settle_after_hold
from tests.contracts.helpers import (
    BASE_FP,
    ESP_STAKE,
    FEE,
    NEAR_FP,
    copier_esp,
    details,
    register_esp,
)


def _own_pair(world: World, detail: str) -> tuple[int, int]:
    """The attacker's two registrations of unrelated images that the compact rule admits: the
    first through ESP A (dev account 6), the later one through ESP B (``world.esp``)."""
    register_esp(world)
    first = register_image(
        world, world.attacker, world.attacker.address, fp=BASE_FP, esp=copier_esp(world)
    )
    later = register_image(
        world,
        world.attacker,
        world.attacker.address,
        fp=NEAR_FP,
        detail=details()[detail],
        esp=world.esp,
    )
    return first, later


@pytest.mark.parametrize("contested", [False, True], ids=["uncontested", "contested"])
def test_a_challenge_of_ones_own_registration_farms_no_esp_stake(world, contested):
    before = world.balance(world.attacker.address)
    first, later = _own_pair(world, "near")  # "near": the detail rule matches too
    attacker = world.registry(world.attacker)
    spent = 0
    attacker.challenge(first, later)
    spent += gas_cost(attacker.last_receipt)
    if contested:
        attacker.contest(first, later)
        spent += gas_cost(attacker.last_receipt)
        assert world.registry(world.deployer).resolve(first, later) is True
    else:
        world.chain.mine(world.params.dispute_window_blocks + 1)
        assert attacker.finalize(first, later) is True
        spent += gas_cost(attacker.last_receipt)
    settle_after_hold(world, first, later)
    esps = world.esps(world.deployer)
    slash = world.params.esp_slash_amount
    # The honest ESP B still answers with its stake ...
    info = esps.esp_info(world.esp.address)
    assert info.stake == ESP_STAKE - slash and info.challenges_lost == 1
    # ... and the slash goes to nobody.
    assert esps.compensation_of(world.attacker.address) == 0
    assert esps.compensation_of(burn_address(world)) == slash
    # What the attacker gained: its balance, what it is owed, and the first token's bond (locked
    # with a token it keeps, so counted as its own). Before the fix: +0.038 ETH less gas.
    p = world.params
    gained = (
        world.balance(world.attacker.address)
        + esps.compensation_of(world.attacker.address)
        + p.registration_bond
        - before
    )
    assert gained < 0
    assert gained <= -2 * FEE - p.registration_bond + p.challenge_reward - spent
