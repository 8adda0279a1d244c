"""What an upheld mis-attestation claim costs its claimant, and what it costs a plagiarist that
claims its own copy.

The attack (economic): the victim of a mis-attested copy pays the court's deposit and the
committee's review fee (0.01 ETH at the defaults), which the jurors earn. Upheld, the claimant
got back only its deposit and the challenge reward (0.0002 ETH): 0.0098 ETH poorer, plus gas,
for getting a copy of its own image revoked, so a rational victim did not claim and the
plagiarist kept its copy. Now the court refunds the fee it paid out of the copy's bond (which
it burned before), capped at what that bond holds after the reward: the claimant loses at most
its gas, for a single token and for a batch item alike.

The guard: the refund never exceeds the fee paid nor what the court holds for this claim, and
the ESP's slash is still burned (at the EspRegistry), so a plagiarist claiming its own copy
through a Sybil still loses its bond and its ESP's slash: claiming never pays.
Runs on the default chain backend (anvil under CI)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account.signers.local import LocalAccount
from PIL import Image

from ledger.clients.batch_court import MisattestedItem
from ledger.clients.registry import DisputeState, TokenStatus
from services.provenance import detail_descriptor, fingerprint
from tests.contracts.attack_kit import burn_address, gas_cost
from tests.contracts.batch_kit import client as batch_client
from tests.contracts.committee_kit import (
    PARAMS,
    CommitteeWorld,
    committee_world,
    committee_world_with,
)
from tests.contracts.helpers import register_esp
from tests.contracts.misattestation_kit import (
    Images,
    camera,
    copy_of,
    court,
    court_balance,
    honest_item_votes,
    honest_votes,
    png,
    record_of,
    register_item_pixels,
    register_pixels,
    unrelated,
)


@pytest.fixture
def cw(chain):
    yield from committee_world(chain)


# Bonds of 0.05 ETH, above the reward and the fee (0.0102 ETH): the refund is the fee, no more.
RICH = replace(PARAMS, registration_bond=5 * 10**16, batch_bond_per_item=5 * 10**16)


@pytest.fixture
def rich(chain):
    yield from committee_world_with(chain, RICH)


def _copy(cw: CommitteeWorld) -> tuple[int, Image.Image, LocalAccount]:
    """The attacker's copy of the camera as a single token, attested by its own ESP with an
    unrelated image's values."""
    world = cw.world
    esp = register_esp(world, world.accounts[8])
    copy, other = copy_of(camera()), unrelated()
    token = register_pixels(
        world,
        world.attacker,
        copy,
        esp=esp,
        fingerprint=fingerprint(other).to_bytes32(),
        detail=detail_descriptor(other),
    )
    return token, copy, esp


def _copy_item(
    cw: CommitteeWorld, esp: LocalAccount | None = None
) -> tuple[MisattestedItem, Image.Image, LocalAccount]:
    """The same copy hidden as an item of a two-item batch (``esp`` registered already, else
    registered here)."""
    world = cw.world
    esp = esp or register_esp(world, world.accounts[8])
    copy, other = copy_of(camera()), unrelated()
    item = register_item_pixels(
        world,
        world.attacker,
        copy,
        esp=esp,
        fingerprint=fingerprint(other).to_bytes32(),
        detail=detail_descriptor(other),
    )
    return item, copy, esp


def _uphold_single(cw: CommitteeWorld, token: int, image: Image.Image, claimant: LocalAccount):
    """``claimant`` claims, the jurors vote honestly, ``claimant`` finalizes; returns the wei
    ``claimant`` spent in gas on the two transactions."""
    world = cw.world
    c = court(world, claimant)
    fee = cw.committee().params().review_fee
    key = cw.draw(c.claim_misattested(token, record_of(world, token), review_fee=fee))
    spent = gas_cost(c.last_receipt)
    cw.vote(key, honest_votes(cw, key, token, Images({token: png(image)})))
    assert c.finalize_misattested(token, record_of(world, token)) is DisputeState.UPHELD
    return spent + gas_cost(c.last_receipt)


def _uphold_item(cw: CommitteeWorld, item: MisattestedItem, image, claimant: LocalAccount):
    world = cw.world
    c = court(world, claimant)
    fee = cw.committee().params().review_fee
    key = cw.draw(c.claim_misattested_item(item, review_fee=fee))
    spent = gas_cost(c.last_receipt)
    cw.vote(key, honest_item_votes(cw, key, item, Images({item.token_id: png(image)})))
    assert c.finalize_misattested(item.token_id, item.record) is DisputeState.UPHELD
    return spent + gas_cost(c.last_receipt)


@pytest.mark.both_chains
def test_the_victim_of_a_misattested_copy_loses_only_its_gas_by_claiming_it(cw):
    """Before: 0.0098 ETH lost (the fee less the reward). Now: the deposit, the reward and the
    fee (as far as the copy's bond goes: 0.0098 of it after the reward at the defaults) come
    back; the court keeps nothing and burns the rest of the bond (none at the defaults)."""
    world = cw.world
    token, copy_image, _ = _copy(cw)
    cw.enroll()
    held = court_balance(world)
    before = world.balance(world.producer.address)
    spent = _uphold_single(cw, token, copy_image, world.producer)
    assert world.registry(world.deployer).record(token).status is TokenStatus.REVOKED
    net = world.balance(world.producer.address) - before + spent
    assert net >= 0, f"the honest claimant lost {-net} wei beyond its gas"
    params = world.registry(world.deployer).params()
    fee = cw.committee().params().review_fee
    # never more than it paid (the fee) plus the reward, never more than the copy's bond
    assert net <= params.challenge_reward
    assert net == min(params.challenge_reward + fee, params.bond) - fee
    assert court_balance(world) == held


@pytest.mark.both_chains
def test_the_victim_of_a_misattested_batch_item_loses_only_its_gas_by_claiming_it(cw):
    """The same for a copy hidden as a batch item: the BatchRegistry sends the item's whole
    bond to the court for a claim (the reward only, for the court's other revocations), which
    refunds the fee out of it and burns the rest."""
    world = cw.world
    item, copy_image, _ = _copy_item(cw)
    cw.enroll()
    held = court_balance(world)
    batches = batch_client(world, world.deployer)
    registry_held = world.balance(batches.address)
    before = world.balance(world.producer.address)
    spent = _uphold_item(cw, item, copy_image, world.producer)
    assert batches.status(item.token_id) is TokenStatus.REVOKED
    net = world.balance(world.producer.address) - before + spent
    assert net >= 0, f"the honest claimant lost {-net} wei beyond its gas"
    params = world.registry(world.deployer).params()
    bond = world.params.batch_bond_per_item
    fee = cw.committee().params().review_fee
    assert net == min(params.challenge_reward + fee, bond) - fee
    assert court_balance(world) == held
    # the item's bond left the BatchRegistry: to the claimant (reward, fee) and burned (the rest)
    assert world.balance(batches.address) == registry_held - bond


@pytest.mark.both_chains
def test_a_plagiarist_claiming_its_own_copy_still_loses_its_bond_and_its_esps_slash(cw):
    """The operator of the copy's ESP and its producer claims its own copy through a Sybil (here
    the producer itself): the refund is at most the fee it paid the jurors, so the claim itself
    never gains more than the reward, and the bond and the ESP's slash (burned) are lost."""
    world = cw.world
    token, copy_image, esp = _copy(cw)
    cw.enroll()
    esps = world.esps(world.deployer)
    stake = esps.esp_info(esp.address).stake
    before = world.balance(world.attacker.address)
    spent = _uphold_single(cw, token, copy_image, world.attacker)
    cash = world.balance(world.attacker.address) - before + spent  # the claim's flow, gas aside
    params = world.registry(world.deployer).params()
    slash = stake - esps.esp_info(esp.address).stake
    assert slash == min(stake, world.params.esp_slash_amount) > 0
    assert esps.compensation_of(world.attacker.address) == 0
    assert esps.compensation_of(esp.address) == 0
    assert cash <= params.challenge_reward
    # the operator's whole account: the claim's cash flow, the copy's bond, the ESP's slash
    assert cash - params.bond - slash < 0
    assert cash - params.bond < 0  # even an ESP with nothing left to slash loses


def test_the_refund_is_the_fee_paid_and_never_the_rest_of_a_larger_bond(rich):
    """With a bond larger than the reward and the fee, a claimant (the plagiarist's own Sybil
    here) gets back exactly the fee it paid and the reward: the rest of the bond is burned, for
    a single token and for a batch item, and the court keeps nothing."""
    cw = rich
    world = cw.world
    fee = cw.committee().params().review_fee
    reward = world.registry(world.deployer).params().challenge_reward
    token, copy_image, esp = _copy(cw)
    item, item_image, _ = _copy_item(cw, esp)
    cw.enroll(10)  # two reviews, five jurors each
    held = court_balance(world)
    burn = burn_address(world)
    for uphold, bond in (
        (lambda: _uphold_single(cw, token, copy_image, world.attacker), RICH.registration_bond),
        (lambda: _uphold_item(cw, item, item_image, world.attacker), RICH.batch_bond_per_item),
    ):
        before, burned = world.balance(world.attacker.address), world.balance(burn)
        spent = uphold()
        assert world.balance(world.attacker.address) - before + spent == reward  # the fee back
        assert world.balance(burn) - burned == bond - reward - fee
        assert court_balance(world) == held
