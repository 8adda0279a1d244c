"""Issue 11's kept-reward attack on the batch paths: "rewards won by a token that is later revoked
as a copy are kept; copies it revoked stay revoked". On the chain backend of ``world``.

A squatter's batch item X (itself a near copy of an earlier original O) challenges a later
registration: a batch item Y (BatchRegistry) or a single token S (BatchCourt). Y/S is revoked.
O's owner then revokes X as a copy. Before the fix the squatter was paid at once (deposit,
reward and, at the court, the copy's ESP slash) and kept it all, and Y stayed revoked. Now
nothing is paid before `rewardHoldBlocks`; when X is revoked within the hold, `settle` reverses:
Y is reinstated (its side takes the held deposits, nobody is slashed), or, for S (the Registry
has no bytes to reinstate it), S's side takes the held deposits and the copy's bond while the
held ESP slash is burned: paid to S's side it would be a bounty one attacker owning X and S
could farm from S's honest ESP
(``test_court_reversal_burns_the_slash_so_an_own_pair_farms_nothing``).
"""

from __future__ import annotations

import pytest
from web3.logs import DISCARD

from ledger import errors
from ledger.clients.batch_court import BatchCourtClient
from ledger.clients.registry import DisputeState, TokenStatus
from tests.contracts.attack_kit import burn_address, proof
from tests.contracts.batch_kit import client, random_fingerprints, register_batch, tid
from tests.contracts.helpers import (
    BASE_FP,
    ESP_STAKE,
    NEAR_FP,
    copier_esp,
    details,
    past_reclaim,
    register_esp,
    register_image,
)

# One more bit from NEAR_FP: matches X (NEAR_FP) under the compact rule, as X matches O.
LATER_FP = NEAR_FP[:-1] + bytes([NEAR_FP[-1] ^ 4])


def _court(world, account) -> BatchCourtClient:
    return BatchCourtClient(world.deployment, world.tx(account))


def _item(world, owner, fp, detail, esp, *, seed):
    """A batch of ``owner`` attested by ``esp`` holding ``fp`` among two random fingerprints;
    returns (token id, plan)."""
    b_id, p = register_batch(
        world,
        owner,
        fingerprints=[*random_fingerprints(2, seed=seed), fp],
        item_details=[details()["far"], details()["far"], detail],
        esp=esp,
    )
    return tid(b_id, p.fingerprints.index(fp)), p


def _batch_challenge(world, who, a, pa, b, pb):
    ia, ib = a & 0xFFFFFFFF, b & 0xFFFFFFFF
    client(world, who).challenge(
        a, pa.fingerprints[ia], pa.fp_proof(ia), b, pb.fingerprints[ib], pb.fp_proof(ib)
    )


def _squatter_chain(world):
    """O (the producer's, world.esp), the squatter's X (a near copy of O, the copier ESP) and
    the buyer's later Y (a near copy of X, a third ESP): (O, pO, X, pX, third ESP)."""
    register_esp(world)
    o, po = _item(world, world.producer, BASE_FP, details()["base"], world.esp, seed=21)
    x, px = _item(world, world.attacker, NEAR_FP, details()["near"], copier_esp(world), seed=22)
    third = register_esp(world, world.accounts[7])
    return o, po, x, px, third


def test_batch_squatter_is_paid_nothing_before_the_hold_and_its_win_is_reversed(world):
    o, po, x, px, third = _squatter_chain(world)
    y, py = _item(world, world.buyer, LATER_FP, details()["near"], third, seed=23)
    p = world.params
    br = client(world, world.deployer)
    esps = world.esps(world.deployer)
    _batch_challenge(world, world.attacker, x, px, y, py)
    world.chain.mine(p.dispute_window_blocks + 1)
    squatter = world.balance(world.attacker.address)
    held = world.balance(br.address)
    assert client(world, world.deployer).finalize(x, y)  # a relayer decides it
    decided = world.chain.w3.eth.block_number
    assert br.status(y) is TokenStatus.REVOKED
    # Nothing is paid at the decision: the deposit stays held with the bond.
    assert world.balance(world.attacker.address) == squatter
    assert world.balance(br.address) == held
    d = br.dispute(x, y)
    assert (d.state, d.deadline) == (DisputeState.UPHELD, decided + p.reward_hold_blocks)
    with pytest.raises(errors.BatchRewardHeld) as exc:
        client(world, world.attacker).settle(x, y)
    assert (exc.value.duplicate, exc.value.releasableAtBlock) == (y, d.deadline)
    # O's owner revokes X as a copy of O within the hold.
    _batch_challenge(world, world.producer, o, po, x, px)
    world.chain.mine(p.dispute_window_blocks + 1)
    assert client(world, world.producer).finalize(o, x)
    assert world.chain.w3.eth.block_number < d.deadline  # still within the hold
    accused = world.balance(world.buyer.address)
    receipt_owner = client(world, world.deployer)
    receipt_owner.settle(x, y)  # anyone may settle
    assert br.dispute(x, y).state is DisputeState.REVERSED
    assert br.status(y) is TokenStatus.ACTIVE
    # Y's owner (uncontested: the accused) takes the held deposit; the squatter nothing.
    assert world.balance(world.buyer.address) == accused + p.challenge_deposit
    assert world.balance(world.attacker.address) == squatter
    # Nobody is slashed for a reversed revocation.
    assert esps.esp_info(third.address).challenges_lost == 0
    assert esps.compensation_of(world.attacker.address) == 0
    logs = br.contract.events.Reinstated().process_receipt(
        receipt_owner.last_receipt, errors=DISCARD
    )
    assert [(int(e["args"]["tokenId"]), int(e["args"]["original"])) for e in logs] == [(y, x)]
    # Reversed once: it cannot be settled again, and Y trades and defends itself again.
    with pytest.raises(errors.BatchDisputeState):
        br.settle(x, y)
    past_reclaim(world)  # a fresh item does not move (BatchTokenReclaimable)
    client(world, world.buyer).transfer(world.producer.address, y)
    assert br.owner_of(y) == world.producer.address


def test_batch_contested_reversal_pays_both_deposits_to_the_contester(world):
    o, po, x, px, third = _squatter_chain(world)
    y, py = _item(world, world.buyer, LATER_FP, details()["near"], third, seed=24)
    p = world.params
    br = client(world, world.deployer)
    _batch_challenge(world, world.attacker, x, px, y, py)
    iy, ix = y & 0xFFFFFFFF, x & 0xFFFFFFFF
    client(world, world.buyer).contest(x, y, detail=py.items[iy].detail, opening=py.opening(iy))
    _batch_challenge(world, world.producer, o, po, x, px)
    assert br.resolve(
        x,
        y,
        detail_a=px.items[ix].detail,
        opening_a=px.opening(ix),
        detail_b=py.items[iy].detail,
        opening_b=py.opening(iy),
    )
    squatter = world.balance(world.attacker.address)
    world.chain.mine(p.dispute_window_blocks + 1)
    assert br.finalize(o, x)
    contester = world.balance(world.buyer.address)
    br.settle(x, y)
    assert br.status(y) is TokenStatus.ACTIVE
    assert world.balance(world.buyer.address) == contester + 2 * p.challenge_deposit
    assert world.balance(world.attacker.address) == squatter


def test_batch_win_stands_after_the_hold_and_pays_then(world):
    """The honest path: X is not revoked within the hold; `settle` pays the challenger its
    deposit and the reward and reports the copy's ESP, only after the hold."""
    _, _, x, px, third = _squatter_chain(world)
    y, py = _item(world, world.buyer, LATER_FP, details()["near"], third, seed=25)
    p = world.params
    br = client(world, world.deployer)
    _batch_challenge(world, world.attacker, x, px, y, py)
    world.chain.mine(p.dispute_window_blocks + 1)
    assert br.finalize(x, y)
    deadline = br.dispute(x, y).deadline
    world.chain.mine(deadline - world.chain.w3.eth.block_number - 2)
    with pytest.raises(errors.BatchRewardHeld):  # the last held block
        br.settle(x, y)
    world.chain.mine(1)
    before = world.balance(world.attacker.address)
    br.settle(x, y)
    assert br.dispute(x, y).state is DisputeState.SETTLED
    assert world.balance(world.attacker.address) == before + p.challenge_deposit + (
        p.challenge_reward
    )
    esps = world.esps(world.deployer)
    assert esps.compensation_of(world.attacker.address) == 0  # Y's ESP's slash is burned
    assert esps.compensation_of(burn_address(world)) == p.esp_slash_amount
    assert br.status(y) is TokenStatus.REVOKED


def test_batch_single_original_revoked_at_the_registry_reverses_its_batch_win(world):
    """A squatter's single token S1 (near copy of an earlier single O) revokes a later batch item
    Y through `challengeWithSingle`; O then revokes S1 at the Registry: `settle` reinstates Y."""
    register_esp(world)
    o = register_image(world, world.producer, fingerprint=BASE_FP, detail=details()["base"])
    s1 = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()["near"])
    third = register_esp(world, world.accounts[7])
    y, py = _item(world, world.buyer, LATER_FP, details()["near"], third, seed=26)
    p = world.params
    br = client(world, world.attacker)
    iy = y & 0xFFFFFFFF
    br.challenge_with_single(s1, proof(world, s1), y, py.fingerprints[iy], py.fp_proof(iy))
    world.registry(world.producer).challenge(o, s1)
    world.chain.mine(p.dispute_window_blocks + 1)
    squatter = world.balance(world.attacker.address)
    assert client(world, world.deployer).finalize(s1, y)
    assert world.balance(world.attacker.address) == squatter  # nothing paid yet
    assert world.registry(world.deployer).finalize(o, s1)
    accused = world.balance(world.buyer.address)
    client(world, world.deployer).settle(s1, y)
    assert br.dispute(s1, y).state is DisputeState.REVERSED
    assert br.status(y) is TokenStatus.ACTIVE
    assert world.balance(world.buyer.address) == accused + p.challenge_deposit
    assert world.balance(world.attacker.address) == squatter


# --- the court: a batched original revoking a single token --------------------------------------


def test_court_squatter_is_paid_nothing_before_the_hold_and_the_single_is_compensated(world):
    o, po, x, px, third = _squatter_chain(world)
    s = register_image(
        world, world.buyer, esp=third, fingerprint=LATER_FP, detail=details()["near"]
    )
    p = world.params
    court = _court(world, world.deployer)
    esps = world.esps(world.deployer)
    burn = burn_address(world)
    ix = x & 0xFFFFFFFF
    _court(world, world.attacker).challenge(
        x, px.fingerprints[ix], px.fp_proof(ix), s, proof(world, s)
    )
    world.chain.mine(p.dispute_window_blocks + 1)
    squatter = world.balance(world.attacker.address)
    burned = world.balance(burn)
    assert court.finalize(x, s, proof(world, s))  # a relayer decides it
    decided = world.chain.w3.eth.block_number
    assert world.registry(world.deployer).record(s).status is TokenStatus.REVOKED
    # Nothing is paid or credited to the squatter: deposit and bond are held, the ESP's slash is
    # burned at the EspRegistry (no challenge slash is paid to anyone).
    assert world.balance(world.attacker.address) == squatter
    assert esps.compensation_of(world.attacker.address) == 0
    assert world.balance(burn) == burned
    d = court.dispute(x, s)
    assert (d.state, d.deadline) == (DisputeState.UPHELD, decided + p.reward_hold_blocks)
    assert d.slash == 0
    assert (
        world.balance(court.address) + esps.compensation_of(court.address)
        == p.challenge_deposit + p.registration_bond
    )
    assert esps.esp_info(third.address).stake == ESP_STAKE - p.esp_slash_amount
    assert esps.compensation_of(burn) == p.esp_slash_amount
    with pytest.raises(errors.CourtRewardHeld) as exc:
        _court(world, world.attacker).settle(x, s)
    assert (exc.value.duplicate, exc.value.releasableAtBlock) == (s, d.deadline)
    # O's owner revokes X (at the BatchRegistry) within the hold.
    _batch_challenge(world, world.producer, o, po, x, px)
    world.chain.mine(p.dispute_window_blocks + 1)
    assert client(world, world.producer).finalize(o, x)
    accused = world.balance(world.buyer.address)
    court.settle(x, s)  # anyone may settle
    assert court.dispute(x, s).state is DisputeState.REVERSED
    # S's side (uncontested: its owner) is compensated with the held deposit and S's bond; the
    # slash is burned; the squatter keeps nothing.
    assert world.balance(world.buyer.address) == accused + p.challenge_deposit + p.registration_bond
    assert world.balance(burn) == burned
    assert esps.compensation_of(burn) == p.esp_slash_amount
    assert world.balance(world.attacker.address) == squatter
    assert esps.compensation_of(world.attacker.address) == 0
    assert world.balance(court.address) + esps.compensation_of(court.address) == 0
    with pytest.raises(errors.CourtDisputeState):
        court.settle(x, s)


def test_court_win_stands_after_the_hold_and_pays_then(world):
    _, _, x, px, third = _squatter_chain(world)
    s = register_image(
        world, world.buyer, esp=third, fingerprint=LATER_FP, detail=details()["near"]
    )
    p = world.params
    court = _court(world, world.deployer)
    esps = world.esps(world.deployer)
    burn = burn_address(world)
    ix = x & 0xFFFFFFFF
    _court(world, world.attacker).challenge(
        x, px.fingerprints[ix], px.fp_proof(ix), s, proof(world, s)
    )
    with pytest.raises(errors.CourtDisputeState):  # nothing to settle while it is open
        court.settle(x, s)
    world.chain.mine(p.dispute_window_blocks + 1)
    assert court.finalize(x, s, proof(world, s))
    world.chain.mine(p.reward_hold_blocks - 2)
    with pytest.raises(errors.CourtRewardHeld):  # the last held block
        court.settle(x, s)
    world.chain.mine(1)
    before = world.balance(world.attacker.address)
    burned = world.balance(burn)
    court.settle(x, s)
    assert court.dispute(x, s).state is DisputeState.SETTLED
    assert world.balance(world.attacker.address) == (
        before + p.challenge_deposit + p.challenge_reward
    )
    assert world.balance(burn) == burned + p.registration_bond - p.challenge_reward
    assert esps.compensation_of(burn) == p.esp_slash_amount  # the copy's ESP's, burned
    assert world.balance(court.address) + esps.compensation_of(court.address) == 0


def test_court_reversal_burns_the_slash_so_an_own_pair_farms_nothing(world):
    """The farm a compensated slash would open: one attacker owns O, X and S, S attested by an
    honest ESP (same prompt and seed as X: the bundled model fixes the bytes). X revokes S at the
    court (the honest ESP slashed), O revokes X, `settle` reverses. Paid to S's side, the honest
    ESP's slash would be the attacker's profit for X's burned bond (0.05 vs 0.0098 ETH). Burned,
    the attacker gets back only its own deposit and S's bond."""
    attacker = world.attacker
    own_esp_a, own_esp_b = world.accounts[8], world.accounts[9]
    register_esp(world, own_esp_a)
    register_esp(world, own_esp_b)
    honest = register_esp(world, world.accounts[7])
    o, po = _item(world, attacker, BASE_FP, details()["base"], own_esp_a, seed=31)
    x, px = _item(world, attacker, NEAR_FP, details()["near"], own_esp_b, seed=32)
    s = register_image(world, attacker, esp=honest, fingerprint=LATER_FP, detail=details()["near"])
    p = world.params
    esps = world.esps(world.deployer)
    burn = burn_address(world)
    ix = x & 0xFFFFFFFF
    _court(world, attacker).challenge(x, px.fingerprints[ix], px.fp_proof(ix), s, proof(world, s))
    _batch_challenge(world, attacker, o, po, x, px)
    world.chain.mine(p.dispute_window_blocks + 1)
    court = _court(world, world.deployer)
    assert court.finalize(x, s, proof(world, s))
    assert client(world, world.deployer).finalize(o, x)
    own = world.balance(attacker.address)
    burned = world.balance(burn)
    court.settle(x, s)
    assert court.dispute(x, s).state is DisputeState.REVERSED
    # The honest ESP lost its slash, and the attacker did not gain it: it was burned.
    assert esps.esp_info(honest.address).stake == ESP_STAKE - p.esp_slash_amount
    assert world.balance(burn) == burned
    assert esps.compensation_of(burn) == p.esp_slash_amount
    assert world.balance(attacker.address) == own + p.challenge_deposit + p.registration_bond
    assert esps.compensation_of(attacker.address) == 0
