"""Red team 4: a BatchCourt pair whose win was reversed, and whose batched winner stands again.

``BatchCourt.reinstate(X, S)`` reverses a settled court win of the batch item X against the
single S once X is revoked (S active again, the pair Reversed). X can come back too: the
BatchRegistry reverses X's loss when X's revoker O is itself revoked before its win settles
(``settle(O, X)``: Reversed, X active). S is then a later near copy of a standing X, and the
court must let X challenge it again, as the BatchRegistry reopens a Reversed pair (``_open``).

Every test runs on every chain backend (``world``).
"""

from __future__ import annotations

from ledger import TokenStatus
from ledger.clients.registry import DisputeState
from tests.contracts import attack_kit, batch_kit
from tests.contracts import test_attacks_reward_hold_batch as hold_batch
from tests.contracts.attack_kit import register_image
from tests.contracts.helpers import BASE_FP, NEAR_FP, copier_esp, details, register_esp
from tests.contracts.test_redteam3_reinstate import _batch_challenge_and_finalize, _item

# BASE_FP with one bit of its last word flipped: Z, an earlier near original of O.
Z_FP = BASE_FP[:-1] + bytes([BASE_FP[-1] ^ 1])


def _court_challenge_and_finalize(world, x, px, s) -> bool:
    ix = x & 0xFFFFFFFF
    hold_batch._court(world, world.attacker).challenge(
        x, px.fingerprints[ix], px.fp_proof(ix), s, attack_kit.proof(world, s)
    )
    world.chain.mine(world.params.dispute_window_blocks + 1)
    return hold_batch._court(world, world.buyer).finalize(x, s, attack_kit.proof(world, s))


def test_a_reversed_court_pair_reopens_once_its_winner_stands_again(world):
    """Z (the buyer's item, earliest), O (the producer's item, a near copy of Z), X (the
    attacker's item, a near copy of O) and S (the buyer's single, a near copy of X), in that
    order. X revokes S at the court, settled after the hold; O revokes X at the BatchRegistry;
    ``BatchCourt.reinstate(X, S)`` brings S back; Z revokes O, and ``settle(O, X)`` reverses
    X's loss: X stands. Before the fix X could never challenge S again (``CourtDisputeExists``,
    Reversed), so S kept a copy of a standing registration for good. Now ``challenge`` reopens
    a Reversed pair as a Void one, clearing a held ``slash`` with the contester (none is held
    while the EspRegistry burns every challenge slash; were one, a second decision whose ESP
    had no stake left would pay it again), and the second round revokes S and pays exactly its
    own deposit, reward and slash."""
    register_esp(world)
    third = register_esp(world, world.accounts[7])
    copier = copier_esp(world)
    registry = world.registry(world.deployer)
    assert registry.fingerprint_distance(Z_FP, BASE_FP) <= world.params.match_threshold
    z, pz = _item(world, world.buyer, Z_FP, details()["base"], copier, seed=61)
    o, po = _item(world, world.producer, BASE_FP, details()["base"], world.esp, seed=62)
    x, px = _item(world, world.attacker, NEAR_FP, details()["near"], copier, seed=63)
    s = register_image(
        world,
        world.buyer,
        world.buyer.address,
        esp=third,
        fp=hold_batch.LATER_FP,
        detail=details()["near"],
    )
    p = world.params
    court = hold_batch._court(world, world.buyer)
    br = batch_kit.client(world, world.deployer)
    assert _court_challenge_and_finalize(world, x, px, s)
    world.chain.mine(p.reward_hold_blocks)
    court.settle(x, s)
    assert court.dispute(x, s).slash == 0  # S's ESP's slash is burned at the EspRegistry
    assert _batch_challenge_and_finalize(world, world.producer, o, po, x, px) is True
    court.reinstate(x, s, bond=p.registration_bond)
    assert registry.record(s).status is TokenStatus.ACTIVE
    assert court.dispute(x, s).state is DisputeState.REVERSED
    assert _batch_challenge_and_finalize(world, world.buyer, z, pz, o, po) is True
    assert br.settle(o, x) is DisputeState.REVERSED
    assert br.status(x) is TokenStatus.ACTIVE  # X stands again; S is its later near copy

    held = world.balance(court.address)
    ix = x & 0xFFFFFFFF
    hold_batch._court(world, world.attacker).challenge(
        x, px.fingerprints[ix], px.fp_proof(ix), s, attack_kit.proof(world, s)
    )
    d = court.dispute(x, s)
    assert (d.state, d.slash, d.challenger) == (DisputeState.OPEN, 0, world.attacker.address)
    world.chain.mine(p.dispute_window_blocks + 1)
    assert court.finalize(x, s, attack_kit.proof(world, s))
    assert registry.record(s).status is TokenStatus.REVOKED
    slash = court.dispute(x, s).slash
    assert world.esps(world.buyer).esp_info(third.address).challenges_lost == 2
    world.chain.mine(p.reward_hold_blocks)
    before = world.balance(world.attacker.address)
    court.settle(x, s)
    assert court.dispute(x, s).state is DisputeState.SETTLED
    paid = world.balance(world.attacker.address) - before
    assert paid == p.challenge_deposit + p.challenge_reward + slash
    assert world.balance(court.address) == held  # the court keeps nothing of this round
