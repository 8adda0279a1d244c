"""Issue 16 gap: an upheld challenge of a batched item slashes the ESP that attested the copy's
batch, to the challenger, as the Registry's `settle` does for a single copy; only the two bound
registries can report a slash. On the chain backend of ``world``.

The slash is a separate, permissionless `settle` after the decision (the Registry's shape): in
`finalize` it would add about 49,000 gas to a challenge whose goal is 160,000 (measured in
``ledger/gas_batch.py``, row ``batch_settle``). Same-ESP pairs are refused at `challenge`
(``BatchSameEsp``): the batch path has no equivocation to report.
"""

from __future__ import annotations

import pytest

from ledger import errors
from ledger.clients.registry import DisputeState, TokenStatus
from tests.contracts.attack_kit import proof
from tests.contracts.batch_kit import client, random_fingerprints, register_batch, tid
from tests.contracts.helpers import (
    BASE_FP,
    ESP_STAKE,
    NEAR_FP,
    copier_esp,
    details,
    register_esp,
    register_image,
)
from tests.contracts.test_attacks_batch import _challenge, _contest, _original_and_copy

BURN = "0x000000000000000000000000000000000000dEaD"  # where every challenge slash is owed


def _esp_state(world, esp: str) -> tuple[int, int, bool]:
    info = world.esps(world.deployer).esp_info(esp)
    return info.stake, info.challenges_lost, info.active


def test_the_batch_registry_is_the_second_bound_reporter(world):
    esps = world.deployment.esp_registry
    assert esps.functions.registry().call() == world.deployment.registry.address
    # The exit delay is the longer of the two registries' (the batch path's has a resolve window
    # and the same reward hold before `settle` slashes; a contested single's resolve waits for
    # the committee's review: its phases and three blocks, red team 7).
    p = world.params
    review = p.review_commit_blocks + p.review_reveal_blocks + 3
    batch = (
        p.registration_window_blocks
        + p.commit_ttl_blocks
        + 3 * p.dispute_window_blocks
        + p.reward_hold_blocks
    )
    single = (
        p.registration_window_blocks
        + p.commit_ttl_blocks
        + 2 * p.dispute_window_blocks
        + review
        + p.reward_hold_blocks
    )
    assert esps.functions.exitDelay().call() == max(batch, single)


def test_upheld_uncontested_challenge_slashes_the_copys_esp_and_burns_the_slash(world):
    original, pa, copy, pb = _original_and_copy(world, copy_detail=details()["near"])
    copier = copier_esp(world).address
    esps = world.esps(world.deployer)
    slash = world.params.esp_slash_amount
    _challenge(world, original, pa, copy, pb)
    c = client(world, world.producer)
    with pytest.raises(errors.BatchDisputeState):  # nothing to settle while it is open
        c.settle(original, copy)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert c.finalize(original, copy)
    assert _esp_state(world, copier) == (ESP_STAKE, 0, True)  # finalize does not slash
    held = world.balance(world.deployment.esp_registry.address)
    with pytest.raises(errors.BatchRewardHeld):  # nor settle before the reward hold
        c.settle(original, copy)
    world.chain.mine(world.params.reward_hold_blocks)
    # Anyone may settle (a relayer here); the slash is burned (owed to 0xdEaD), paid to nobody.
    client(world, world.buyer).settle(original, copy)
    assert c.dispute(original, copy).state is DisputeState.SETTLED
    assert esps.compensation_of(world.producer.address) == 0
    assert esps.compensation_of(world.buyer.address) == 0
    assert esps.compensation_of(BURN) == slash
    stake, lost, active = _esp_state(world, copier)
    assert (stake, lost) == (ESP_STAKE - slash, 1)
    assert active is (ESP_STAKE - slash >= world.params.esp_min_stake // 2)
    assert world.balance(world.deployment.esp_registry.address) == held  # stake -> owed
    # The original's ESP is untouched.
    assert _esp_state(world, world.esp.address)[:2] == (ESP_STAKE, 0)
    # Settled once: a second settle slashes nothing more.
    with pytest.raises(errors.BatchDisputeState):
        c.settle(original, copy)
    assert esps.compensation_of(BURN) == slash
    with pytest.raises(errors.NoCompensation):  # nothing to claim: the slash is nobody's
        world.esps(world.producer).claim_compensation()


def test_upheld_contested_challenge_slashes_too_and_a_rejected_one_never(world):
    original, pa, copy, pb = _original_and_copy(world, copy_detail=details()["near"])
    copier = copier_esp(world).address
    esps = world.esps(world.deployer)
    ia, ib = original & 0xFFFFFFFF, copy & 0xFFFFFFFF
    # A second batch by the same ESP, registered before the slash deactivates it.
    other_id, po = register_batch(
        world, world.attacker, fingerprints=[NEAR_FP], item_details=[details()["far"]], seed=41
    )
    other = tid(other_id, 0)
    _challenge(world, original, pa, copy, pb)
    _contest(world, original, copy, pb)
    c = client(world, world.producer)
    assert c.resolve(
        original,
        copy,
        detail_a=details()["base"],
        opening_a=pa.opening(ia),
        detail_b=details()["near"],
        opening_b=pb.opening(ib),
    )
    world.chain.mine(world.params.reward_hold_blocks)
    client(world, world.attacker).settle(original, copy)  # even the loser's call settles it
    assert esps.compensation_of(BURN) == world.params.esp_slash_amount  # burned
    assert _esp_state(world, copier)[1] == 1
    # A rejected challenge (the detail rule says no) cannot be settled into a slash.
    _challenge(world, original, pa, other, po)
    _contest(world, original, other, po)
    assert not c.resolve(
        original,
        other,
        detail_a=details()["base"],
        opening_a=pa.opening(ia),
        detail_b=details()["far"],
        opening_b=po.opening(0),
    )
    with pytest.raises(errors.BatchDisputeState):
        c.settle(original, other)
    assert _esp_state(world, copier)[1] == 1


def test_a_single_original_revoking_a_batched_copy_slashes_its_esp(world):
    register_esp(world)
    single = register_image(world, world.producer, fingerprint=BASE_FP)
    b_id, pb = register_batch(
        world, world.attacker, fingerprints=[*random_fingerprints(3, seed=11), NEAR_FP]
    )
    ib = pb.fingerprints.index(NEAR_FP)
    copy = tid(b_id, ib)
    c = client(world, world.producer)
    c.challenge_with_single(single, proof(world, single), copy, NEAR_FP, pb.fp_proof(ib))
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert c.finalize(single, copy)
    assert c.status(copy) is TokenStatus.REVOKED
    world.chain.mine(world.params.reward_hold_blocks)
    c.settle(single, copy)
    esps = world.esps(world.deployer)
    assert esps.compensation_of(BURN) == world.params.esp_slash_amount  # burned
    assert esps.challenges_lost(copier_esp(world).address) == 1


def test_no_one_but_the_bound_registries_can_slash_or_rebind(world):
    register_esp(world)
    esps = world.deployment.esp_registry
    for fn in (
        esps.functions.recordChallengeUpheld(world.esp.address, world.attacker.address),
        esps.functions.recordEquivocation(
            world.esp.address, world.attacker.address, world.attacker.address
        ),
    ):
        with pytest.raises(errors.EspUnauthorizedRegistry):
            world.tx(world.attacker).send(fn)
    # Rebinding the reporters to oneself: refused to anyone but the deployer, and to the
    # deployer too once bound (both are bound in one call, at deployment).
    rebind = esps.functions.bindRegistry(world.attacker.address, world.attacker.address)
    with pytest.raises(errors.EspUnauthorizedRegistry):
        world.tx(world.attacker).send(rebind)
    with pytest.raises(errors.EspRegistryAlreadyBound):
        world.tx(world.deployer).send(rebind)
    assert _esp_state(world, world.esp.address) == (ESP_STAKE, 0, True)
    assert esps.functions.compensationOf(world.attacker.address).call() == 0
