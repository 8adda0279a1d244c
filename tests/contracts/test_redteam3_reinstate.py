"""Red team, round 3 (issue 11): ``reinstate`` and the reversal of a win (``settle`` when the
winner was revoked), the paths the last session added for "rewards kept after revocation".

A reversal looks only at the winner's status now: revoked, even by a challenge still open to a
reversal of its own, reverses the win. What the reversal leaves behind (the pair's dispute
state) is tried here against the owner of a copy that times its reinstatement.

Every test runs on every chain backend (``world``).
"""

from __future__ import annotations

import pytest

from ledger import TokenStatus, errors
from ledger.clients.registry import DisputeState
from tests.contracts import attack_kit, batch_kit
from tests.contracts import test_attacks_reward_hold_batch as hold_batch
from tests.contracts.attack_kit import register_image, settle_after_hold
from tests.contracts.helpers import (
    BASE_FP,
    NEAR_FP,
    challenge_and_finalize,
    copier_esp,
    details,
    register_esp,
)

# NEAR_FP's first word with 15 other bits flipped, then FAR_FP's words: NEAR_FP admits it (15),
# BASE_FP does not (16): as in test_redteam_registration_edges.
B_FP = bytes.fromhex("fedd456789abcdee5555555555555555a5a5a5a5a5a5a5a55a5a5a5a5a5a5a5a")
# B_FP with one bit flipped: a near copy of B (the rule takes the closest pair of words).
D_FP = bytes.fromhex("fedd456789abcdee5555555555555554a5a5a5a5a5a5a5a55a5a5a5a5a5a5a5a")


def _world_of_four(world):
    """Z (the buyer's, earliest), A (the attacker's squatter: a near copy of Z that the rule
    matches with B too), B (the producer's original) and D (the attacker's near copy of B),
    registered in that order, each original's ESP another than its copy's."""
    register_esp(world)
    z = register_image(world, world.buyer, world.buyer.address, fp=BASE_FP, esp=world.esp)
    a = register_image(
        world, world.attacker, world.attacker.address, fp=NEAR_FP, detail=details()["near"]
    )
    b = register_image(world, world.producer, world.producer.address, fp=B_FP)
    d = register_image(world, world.attacker, world.attacker.address, fp=D_FP)
    registry = world.registry(world.deployer)
    threshold = world.params.match_threshold
    assert registry.fingerprint_distance(B_FP, D_FP) <= threshold
    assert registry.fingerprint_distance(NEAR_FP, B_FP) <= threshold
    assert registry.fingerprint_distance(BASE_FP, B_FP) > threshold
    return z, a, b, d


@pytest.mark.parametrize("reversal", ["reinstate", "settle"])
def test_a_copy_reinstated_through_its_originals_passing_revocation_is_revoked_again(
    world, reversal
):
    """Finding "rewards kept after revocation", reversed the wrong way. B (the producer's
    original) revokes the attacker's copy D. The attacker then has its squatter A (a near
    copy of the earlier Z whose fingerprint the rule also matches with B) revoke B, and the
    moment B is revoked it reverses D's loss: ``reinstate(B, D)`` with a new bond when B's win
    has settled, or (``settle``) ``settle(B, D)`` while it is still held, which also hands D's
    side B's held challenge deposit. Z's owner then revokes A, and B's loss is reversed in its
    turn: B is active again. D is still B's copy, but the pair (B, D) is Reversed and
    ``challenge`` opened a pair once unless its last dispute was Void: B could never challenge
    D again (``RegistryDisputeExists``), so a copy bought immunity from its original for one
    bond (and, through ``settle``, was paid for it).

    Fix (contract, made): a Reversed pair may be challenged again, as a Void one (the reversal
    decided nothing about the pair: the winner's side was gone), the stale contester cleared;
    the attacker's second bond is then lost too."""
    attacker_start = world.balance(world.attacker.address)
    z, a, b, d = _world_of_four(world)
    registry = world.registry(world.deployer)
    assert challenge_and_finalize(world, world.producer, b, d) is True  # D is B's copy
    if reversal == "reinstate":
        settle_after_hold(world, b, d)  # B's side was paid the reward
    # the attacker's squatter revokes B (B's owner missed the dispute window)
    assert challenge_and_finalize(world, world.attacker, a, b) is True
    if reversal == "reinstate":
        world.registry(world.attacker).reinstate(b, d)
    else:
        world.registry(world.attacker).settle(b, d)  # B is revoked: the win is reversed
    assert registry.record(d).status is TokenStatus.ACTIVE
    assert registry.dispute(b, d).state is DisputeState.REVERSED
    # A was a copy of Z: its win over B is reversed in turn, B is active again
    assert challenge_and_finalize(world, world.buyer, z, a) is True
    registry.settle(a, b)
    assert registry.record(b).status is TokenStatus.ACTIVE

    # B challenges its copy again, and D is revoked for good this time
    assert challenge_and_finalize(world, world.producer, b, d) is True
    assert registry.record(d).status is TokenStatus.REVOKED
    settle_after_hold(world, b, d)
    assert registry.dispute(b, d).state is DisputeState.SETTLED
    with pytest.raises(errors.RegistryWinnerActive):  # B is active: no second reversal
        world.registry(world.attacker).reinstate(b, d)
    # the attacker loses money: A's and D's bonds (and the reinstatement's), and A's deposit
    # (its reversed win paid B's side); B's deposit handed to D's side by the reversal is less
    bond = world.params.registration_bond
    deposit = world.params.challenge_deposit
    lost = attacker_start - world.balance(world.attacker.address)
    bonds = 3 if reversal == "reinstate" else 2
    handed = 0 if reversal == "reinstate" else deposit
    assert lost >= bonds * bond + deposit - handed


def test_a_reversed_pair_cannot_be_challenged_while_its_winner_is_revoked(world):
    """The fix's edge: reopening a Reversed pair needs its original active (``challenge`` proves
    it so): while B is revoked, its owner cannot challenge D again (``RegistryTokenRevoked``)."""
    _z, a, b, d = _world_of_four(world)
    assert challenge_and_finalize(world, world.producer, b, d) is True
    assert challenge_and_finalize(world, world.attacker, a, b) is True
    world.registry(world.attacker).settle(b, d)
    assert world.registry(world.deployer).dispute(b, d).state is DisputeState.REVERSED
    with pytest.raises(errors.RegistryTokenRevoked):
        world.registry(world.producer).challenge(b, d)


def _item(world, owner, fp, detail, esp, *, seed):
    """A batch of ``owner`` attested by ``esp`` holding ``fp`` among two random fingerprints;
    returns (token id, plan)."""
    b_id, p = batch_kit.register_batch(
        world,
        owner,
        fingerprints=[*batch_kit.random_fingerprints(2, seed=seed), fp],
        item_details=[details()["far"], details()["far"], detail],
        esp=esp,
    )
    return batch_kit.tid(b_id, p.fingerprints.index(fp)), p


def _batch_challenge_and_finalize(world, who, a, pa, b, pb) -> bool:
    ia, ib = a & 0xFFFFFFFF, b & 0xFFFFFFFF
    br = batch_kit.client(world, who)
    br.challenge(a, pa.fingerprints[ia], pa.fp_proof(ia), b, pb.fingerprints[ib], pb.fp_proof(ib))
    world.chain.mine(world.params.dispute_window_blocks + 1)
    return br.finalize(a, b)


def test_a_batched_copy_reversed_through_its_originals_passing_revocation_is_revoked_again(
    world,
):
    """The same attack among batch items (BatchRegistry), whose ``settle`` reverses a win whose
    winner is revoked when it settles: B (the producer's item) revokes the attacker's copy D,
    the attacker's squatter item A revokes B, and ``settle(B, D)`` (anyone) reverses D's loss
    at once, handing D's side B's held deposit. Z's owner revokes A; ``settle(A, B)`` reverses
    B's loss. B could never challenge D again: ``BatchDisputeExists`` (Reversed).

    Fix (contract, made): ``_open`` reopens a Reversed pair as a Void one (its contester is
    cleared already)."""
    register_esp(world)
    third = register_esp(world, world.accounts[7])
    z, pz = _item(world, world.buyer, BASE_FP, details()["base"], world.esp, seed=31)
    a, pa = _item(world, world.attacker, NEAR_FP, details()["near"], copier_esp(world), seed=32)
    b, pb = _item(world, world.producer, B_FP, details()["base"], third, seed=33)
    d, pd = _item(world, world.attacker, D_FP, details()["base"], copier_esp(world), seed=34)
    br = batch_kit.client(world, world.deployer)
    assert _batch_challenge_and_finalize(world, world.producer, b, pb, d, pd) is True
    assert _batch_challenge_and_finalize(world, world.attacker, a, pa, b, pb) is True
    br.settle(b, d)  # B is revoked: D's loss is reversed
    assert br.dispute(b, d).state is DisputeState.REVERSED
    assert br.status(d) is TokenStatus.ACTIVE
    assert _batch_challenge_and_finalize(world, world.buyer, z, pz, a, pa) is True
    br.settle(a, b)
    assert br.status(b) is TokenStatus.ACTIVE

    assert _batch_challenge_and_finalize(world, world.producer, b, pb, d, pd) is True
    assert br.status(d) is TokenStatus.REVOKED
    world.chain.mine(world.params.reward_hold_blocks)
    br.settle(b, d)
    assert br.dispute(b, d).state is DisputeState.SETTLED


def test_a_batched_win_settled_before_its_winner_was_revoked_is_reversed(world):
    """Finding "rewards won by a token that is later revoked as a copy are kept; copies it
    revoked stay revoked", at the BatchRegistry after the reward hold (the Registry has
    ``reinstate`` for it; docs/contracts.md said the batch forums had "no such path yet"). The
    squatter's item A (a near copy of the buyer's earlier Z, that the rule also matches with
    the producer's B) revokes B, nobody contests, the win settles after the hold (the squatter
    is paid its deposit and the reward; B's bond is burned). Z's owner then revokes A. B must be
    reversible as at the Registry: before the fix nothing could (no function), B stayed revoked
    for good and the squatter kept what it was paid.

    Fix (contract, made): ``BatchRegistry.reinstate(A, B)`` for a Settled dispute whose winner
    is revoked since, with ``msg.value`` = the item bond (anyone, typically B's side): B active
    again (``Reinstated``), the dispute Reversed (once); refused while A is active
    (``BatchWinnerActive``) or for a pair not Settled (``BatchDisputeState``)."""
    register_esp(world)
    third = register_esp(world, world.accounts[7])
    z, pz = _item(world, world.buyer, BASE_FP, details()["base"], world.esp, seed=41)
    a, pa = _item(world, world.attacker, NEAR_FP, details()["near"], copier_esp(world), seed=42)
    b, pb = _item(world, world.producer, B_FP, details()["base"], third, seed=43)
    br = batch_kit.client(world, world.deployer)
    owner = batch_kit.client(world, world.producer)
    assert _batch_challenge_and_finalize(world, world.attacker, a, pa, b, pb) is True
    world.chain.mine(world.params.reward_hold_blocks)
    assert br.settle(a, b) is DisputeState.SETTLED  # the squatter is paid
    with pytest.raises(errors.BatchWinnerActive):  # A is active: its win stands
        owner.reinstate(a, b)
    assert _batch_challenge_and_finalize(world, world.buyer, z, pz, a, pa) is True  # A: Z's copy
    with pytest.raises(errors.BatchDisputeState):  # Z never decided B
        owner.reinstate(z, b)
    bond = br.params().bond_per_item
    with pytest.raises(errors.BatchWrongValue):
        owner.reinstate(a, b, bond=0)
    held = world.balance(br.address)
    owner.reinstate(a, b)  # B's owner posts B's bond again
    assert br.status(b) is TokenStatus.ACTIVE
    assert br.dispute(a, b).state is DisputeState.REVERSED
    assert world.balance(br.address) == held + bond
    with pytest.raises(errors.BatchDisputeState):  # once
        owner.reinstate(a, b)
    batch_kit.client(world, world.producer).transfer(world.buyer.address, b)  # B trades again


def test_a_court_win_settled_before_its_winner_was_revoked_is_reversed(world):
    """Finding "rewards kept after revocation; copies it revoked stay revoked", at the
    BatchCourt after the reward hold (the Registry's and the BatchRegistry's settled wins now
    have ``reinstate``). The squatter's batch item X (a near copy of the producer's earlier item
    O) challenges the buyer's later single S at the court; nobody contests; the win settles
    after the hold (the squatter is paid its deposit and the reward, S's bond burned, S's ESP
    slashed). O's owner then revokes X as a copy. Within the hold the court's ``settle``
    compensates S's side (``test_court_squatter_is_paid_nothing_before_the_hold_and_the_single_
    is_compensated``); after it, nothing: S stays revoked for good, its owner out a bond.

    Fixed (a strict xfail before: the court had no ``reinstate``): ``BatchCourt.reinstate(X,
    S)`` for a Settled dispute whose batched winner is revoked since, ``msg.value`` = the
    Registry's bond, forwarded to the Registry's ``undoRevokeCopied(S, X)``, callable by the
    court only (S Active, ``Reinstated``), as ``Registry.reinstate`` does for its own wins."""
    x, s, court = _court_win_settled_then_winner_revoked(world)
    p = world.params
    court.reinstate(x, s, bond=p.registration_bond)
    assert world.registry(world.deployer).record(s).status is TokenStatus.ACTIVE
    assert court.dispute(x, s).state is DisputeState.REVERSED


def _court_win_settled(world):
    """The squatter's batch item X (a near copy of the producer's earlier item O) wins against
    the buyer's later single S at the BatchCourt, uncontested, settled after the hold."""
    o, po, x, px, third = hold_batch._squatter_chain(world)
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
    ix = x & 0xFFFFFFFF
    hold_batch._court(world, world.attacker).challenge(
        x, px.fingerprints[ix], px.fp_proof(ix), s, attack_kit.proof(world, s)
    )
    world.chain.mine(p.dispute_window_blocks + 1)
    assert court.finalize(x, s, attack_kit.proof(world, s))
    world.chain.mine(p.reward_hold_blocks)
    court.settle(x, s)  # the squatter is paid
    assert court.dispute(x, s).state is DisputeState.SETTLED
    return o, po, x, px, s, court


def _court_win_settled_then_winner_revoked(world):
    """``_court_win_settled``, then O's owner revokes X as a copy."""
    o, po, x, px, s, court = _court_win_settled(world)
    assert _batch_challenge_and_finalize(world, world.producer, o, po, x, px) is True
    assert batch_kit.client(world, world.deployer).status(x) is TokenStatus.REVOKED
    assert world.registry(world.deployer).record(s).status is TokenStatus.REVOKED
    return x, s, court


def test_a_court_reinstatement_needs_the_bond_a_revoked_winner_and_happens_once(world):
    """What ``BatchCourt.reinstate`` could be abused for: reinstating for free (the wrong value:
    ``CourtWrongValue``), twice (the second finds the dispute Reversed: ``CourtDisputeState``),
    or through the Registry's entry point directly (``RegistryUnauthorizedCourt``: only the
    court calls it); and a win whose winner stands is not reversed (``CourtWinnerActive``)."""
    x, s, court = _court_win_settled_then_winner_revoked(world)
    bond = world.params.registration_bond
    with pytest.raises(errors.CourtWrongValue):
        court.reinstate(x, s, bond=0)
    registry = world.registry(world.buyer)
    with pytest.raises(errors.RegistryUnauthorizedCourt):
        world.tx(world.buyer).send(registry.contract.functions.undoRevokeCopied(s, x), value=bond)
    before = world.balance(world.deployment.registry.address)
    court.reinstate(x, s, bond=bond)
    assert world.balance(world.deployment.registry.address) == before + bond  # backs S again
    with pytest.raises(errors.CourtDisputeState):
        court.reinstate(x, s, bond=bond)


def test_a_court_win_whose_winner_stands_is_not_reinstated(world):
    """The squatter's item X wins against S and settles; nobody revokes X: S's owner cannot
    buy its token back with a bond (``CourtWinnerActive``)."""
    _, _, x, _, s, court = _court_win_settled(world)
    with pytest.raises(errors.CourtWinnerActive):
        court.reinstate(x, s, bond=world.params.registration_bond)
