"""Attacks on batch registration (issue 16), each with the exact custom error or loss, on every
chain backend: copied commitments, malformed batches, bad bonds, locks and attestations,
malformed Merkle proofs, out-of-order and same-ESP challenges, a batched copy of a single
Registry image revoked alone, contest and resolve with real detail descriptors, revoked tokens,
and value conservation (Ether held == bonds held + deposits held)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from eth_utils import keccak

from ledger import errors
from ledger.clients.batch_registry import ItemOpening
from ledger.clients.registry import DisputeState, TokenStatus
from ledger.merkle import fingerprints_hash, item_leaf, merkle_proof, merkle_root, ordered_proof
from tests.contracts.attack_kit import gas_cost, proof
from tests.contracts.batch_kit import (
    BatchPlan,
    client,
    plan,
    random_fingerprints,
    register_batch,
    reveal,
    tid,
)
from tests.contracts.helpers import (
    BASE_FP,
    FAR_FP,
    NEAR_FP,
    copier_esp,
    details,
    lock_fee,
    paid_lock,
    register_esp,
    register_image,
)


def _held(world) -> int:
    return world.balance(client(world, world.deployer).address)


def _with(fps: list[bytes], fp: bytes) -> list[bytes]:
    """``fps`` with ``fp`` added (sorted by the plan)."""
    return [*fps, fp]


def _index(p, fp: bytes) -> int:
    return p.fingerprints.index(fp)


def _original_and_copy(world, *, copy_detail: bytes):
    """The producer's batch (world.esp) holds BASE_FP with the camera's detail; later the
    attacker's batch (another ESP) holds NEAR_FP with ``copy_detail``. Returns both tokens
    and plans."""
    register_esp(world)
    others = random_fingerprints(2, seed=5)
    a_id, pa = register_batch(
        world,
        world.producer,
        fingerprints=_with(others, BASE_FP),
        item_details=[details()["far"], details()["far"], details()["base"]],
        esp=world.esp,
    )
    b_id, pb = register_batch(
        world,
        world.attacker,
        fingerprints=_with(random_fingerprints(2, seed=6), NEAR_FP),
        item_details=[details()["far"], details()["far"], copy_detail],
    )
    original = tid(a_id, _index(pa, BASE_FP))
    copy = tid(b_id, _index(pb, NEAR_FP))
    return original, pa, copy, pb


def _contest(world, original, copy, pb, *, who=None, detail=None, opening=None):
    """``copy``'s owner contests, opening its item from its plan ``pb`` (or as given)."""
    ib = copy & 0xFFFFFFFF
    client(world, who or world.attacker).contest(
        original,
        copy,
        detail=pb.items[ib].detail if detail is None else detail,
        opening=pb.opening(ib) if opening is None else opening,
    )


def _challenge(world, original, pa, copy, pb, *, who=None):
    c = client(world, who or world.producer)
    ia, ib = original & 0xFFFFFFFF, copy & 0xFFFFFFFF
    return c.challenge(
        original, pa.fingerprints[ia], pa.fp_proof(ia), copy, pb.fingerprints[ib], pb.fp_proof(ib)
    )


# --- registration ---------------------------------------------------------------------------


def test_copied_commitment_registers_nothing_for_the_copier(world):
    """A watcher copies the producer's pending commitment (and later its reveal): the commitment
    names the producer, so the copier's reveal is an unknown commitment, and revealing the
    producer's own commitment needs the producer's lock and account. The copier's bond burns."""
    register_esp(world)
    attacker_esp = copier_esp(world)
    p = plan(world.producer.address, world.esp.address, random_fingerprints(3, seed=2))
    lock = paid_lock(world, world.producer, world.esp)
    producer = client(world, world.producer)
    producer.commit(p.commitment(), p.count)
    thief = client(world, world.attacker)
    with pytest.raises(errors.BatchCommitExists):
        thief.commit(p.commitment(), p.count)
    thief_lock = paid_lock(world, world.attacker, attacker_esp)
    world.chain.mine(1)
    with pytest.raises(errors.BatchUnknownCommit):  # the copied commitment names the producer
        reveal(world, world.attacker, p, thief_lock, attacker_esp)
    # Its own commitment of the same batch cannot use the producer's paid lock.
    mine = replace(p, owner=world.attacker.address)
    thief.commit(mine.commitment(), mine.count)
    world.chain.mine(1)
    with pytest.raises(errors.BatchLockMismatch):
        reveal(world, world.attacker, mine, lock, world.esp)
    batch_id = reveal(world, world.producer, p, lock, world.esp)
    assert client(world, world.producer).owner_of(tid(batch_id, 0)) == world.producer.address
    assert thief.balance_of(world.attacker.address) == 0


def test_replayed_attestation_registers_once(world):
    """The producer re-commits the same batch (new salt) and replays the ESP's attestation: the
    same images would be minted again at the same priority under the same ESP, where no batch
    challenge reaches (BatchSameEsp). One paid generation registers one batch."""
    register_esp(world)
    lock = paid_lock(world, world.producer, world.esp)
    _, p = register_batch(world, world.producer, n=3, esp=world.esp, lock=lock)
    again = replace(p, salt=b"\x09" * 32)
    client(world, world.producer).commit(again.commitment(), again.count)
    world.chain.mine(1)
    with pytest.raises(errors.BatchTaskUsed) as exc:
        reveal(world, world.producer, again, lock, world.esp)
    assert exc.value.taskId == lock.id
    assert client(world, world.producer).balance_of(world.producer.address) == 3


def test_forfeit_burns_an_unrevealed_commitment(world):
    """An expired commitment's bond is burned: it stays locked in the contract (no function
    moves it), and the commitment cannot be revealed or forfeited again."""
    p = plan(world.producer.address, world.esp.address, random_fingerprints(4))
    c = client(world, world.producer)
    c.commit(p.commitment(), 4)
    with pytest.raises(errors.BatchCommitNotExpired):
        c.forfeit_commit(p.commitment())
    world.chain.mine(world.params.commit_ttl_blocks + 1)
    client(world, world.buyer).forfeit_commit(p.commitment())
    assert _held(world) == 4 * world.params.batch_bond_per_item  # burned, locked for good
    with pytest.raises(errors.BatchUnknownCommit):
        client(world, world.buyer).forfeit_commit(p.commitment())


@pytest.mark.parametrize("kind", ["unsorted", "duplicate", "degenerate"])
def test_malformed_fingerprints_refused(world, kind):
    """Fingerprints must be strictly increasing (so no image twice in a batch) and none flat."""
    register_esp(world)
    fps = random_fingerprints(3, seed=3)
    if kind == "unsorted":
        fps = [fps[1], fps[0], fps[2]]
    elif kind == "duplicate":
        fps = [fps[0], fps[1], fps[1]]
    else:
        fps = [fps[0], fps[1][:24] + b"\x00" * 8, fps[2]]  # a flat word, order kept
    p = plan(world.producer.address, world.esp.address, random_fingerprints(3, seed=3))
    lock = paid_lock(world, world.producer, world.esp)
    c = client(world, world.producer)
    items_root = p.items_root
    commitment = c.contract.functions.commitmentFor(
        items_root, fingerprints_hash(fps), 3, world.producer.address, p.salt
    ).call()
    c.commit(bytes(commitment), 3)
    world.chain.mine(1)
    expected = {
        "unsorted": errors.BatchUnsorted,
        "duplicate": errors.BatchUnsorted,
        "degenerate": errors.BatchDegenerateFingerprint,
    }[kind]
    with pytest.raises(expected) as exc:
        reveal(world, world.producer, p, lock, world.esp, fingerprints=fps)
    if kind != "degenerate":
        assert exc.value.index == (1 if kind == "unsorted" else 2)


def test_wrong_bond_and_count_refused(world):
    register_esp(world)
    bond = world.params.batch_bond_per_item
    p = plan(world.producer.address, world.esp.address, random_fingerprints(3))
    c = client(world, world.producer)
    with pytest.raises(errors.BatchWrongValue) as exc:
        c.commit(p.commitment(), 3, bond=2 * bond)
    assert (exc.value.sent, exc.value.required) == (2 * bond, 3 * bond)
    with pytest.raises(errors.BatchBadCount):
        c.commit(p.commitment(), 0, bond=0)
    with pytest.raises(errors.BatchBadCount):
        c.commit(p.commitment(), world.params.max_batch + 1)
    # Paying for 2 and revealing 3 is refused (the bond backs exactly the items committed).
    c.commit(p.commitment(), 2)
    lock = paid_lock(world, world.producer, world.esp)
    world.chain.mine(1)
    with pytest.raises(errors.BatchCountMismatch):
        reveal(world, world.producer, p, lock, world.esp)


def test_unpaid_or_foreign_lock_refused(world):
    """The generation lock must be withdrawn (paid), from the revealing owner, in Ether."""
    register_esp(world)
    p = plan(world.producer.address, world.esp.address, random_fingerprints(3))
    c = client(world, world.producer)
    c.commit(p.commitment(), 3)
    world.chain.mine(1)
    unpaid, _ = lock_fee(world, sender=world.producer, receiver=world.esp.address)
    with pytest.raises(errors.BatchLockNotPaid):
        reveal(world, world.producer, p, unpaid, world.esp)
    someone_elses = paid_lock(world, world.buyer, world.esp)
    with pytest.raises(errors.BatchLockMismatch):
        reveal(world, world.producer, p, someone_elses, world.esp)
    good = paid_lock(world, world.producer, world.esp)
    assert reveal(world, world.producer, p, good, world.esp) == 1


def test_attestation_by_non_esp_or_over_another_root_refused(world):
    register_esp(world)
    p = plan(world.producer.address, world.esp.address, random_fingerprints(3))
    c = client(world, world.producer)
    c.commit(p.commitment(), 3)
    lock = paid_lock(world, world.producer, world.esp)
    world.chain.mine(1)
    # Signed by someone who is not the lock's receiver.
    with pytest.raises(errors.BatchInvalidAttestation):
        reveal(world, world.producer, p, lock, world.attacker)
    # Signed by the ESP, but over other roots (another batch's items).
    other = plan(world.producer.address, world.esp.address, random_fingerprints(3, seed=9))
    sig = c.sign_attestation(world.esp, other.message(lock))
    with pytest.raises(errors.BatchInvalidAttestation):
        reveal(world, world.producer, p, lock, world.esp, signature=sig)
    # A lock paid to an account that is no ESP: refused even with that account's signature.
    not_esp = world.accounts[7]
    p2 = plan(world.producer.address, not_esp.address, random_fingerprints(2, seed=4))
    c.commit(p2.commitment(), 2)
    lock2 = paid_lock(world, world.producer, not_esp)
    world.chain.mine(1)
    with pytest.raises(errors.BatchEspNotRegistered):
        reveal(world, world.producer, p2, lock2, not_esp)


# --- challenges -----------------------------------------------------------------------------


def test_malformed_proof_revokes_nothing(world):
    original, pa, copy, pb = _original_and_copy(world, copy_detail=details()["near"])
    c = client(world, world.producer)
    ia, ib = original & 0xFFFFFFFF, copy & 0xFFFFFFFF
    held = _held(world)
    bad = [bytes(32), *pb.fp_proof(ib)[1:]]
    with pytest.raises(errors.BatchBadProof) as exc:
        c.challenge(original, BASE_FP, pa.fp_proof(ia), copy, NEAR_FP, bad)
    assert exc.value.tokenId == copy
    with pytest.raises(errors.BatchBadProof):  # a fingerprint the batch never had
        c.challenge(original, BASE_FP, pa.fp_proof(ia), copy, BASE_FP, pb.fp_proof(ib))
    with pytest.raises(errors.BatchBadProof):  # the right proof at another index
        c.challenge(original, BASE_FP, pa.fp_proof(ia), copy ^ 1, NEAR_FP, pb.fp_proof(ib))
    assert c.status(copy) is TokenStatus.ACTIVE and _held(world) == held


def test_later_original_and_same_esp_refused(world):
    original, pa, copy, pb = _original_and_copy(world, copy_detail=details()["near"])
    # The copy's owner cannot challenge the earlier original with its later item.
    c = client(world, world.attacker)
    ia, ib = original & 0xFFFFFFFF, copy & 0xFFFFFFFF
    with pytest.raises(errors.BatchChallengeOutOfOrder):
        c.challenge(copy, NEAR_FP, pb.fp_proof(ib), original, BASE_FP, pa.fp_proof(ia))
    # Items of one ESP: priority cannot decide (an equivocation, the Registry's business).
    b_id, pc = register_batch(
        world, world.buyer, fingerprints=_with(random_fingerprints(1, 8), NEAR_FP), esp=world.esp
    )
    same = tid(b_id, _index(pc, NEAR_FP))
    with pytest.raises(errors.BatchSameEsp):
        client(world, world.producer).challenge(
            original, BASE_FP, pa.fp_proof(ia), same, NEAR_FP, pc.fp_proof(_index(pc, NEAR_FP))
        )
    # Far fingerprints are not admissible; the caller must own the original.
    b_id, _ = register_batch(world, world.attacker, fingerprints=[FAR_FP])
    with pytest.raises(errors.BatchNotAdmissible):
        client(world, world.producer).challenge(
            original, BASE_FP, pa.fp_proof(ia), tid(b_id, 0), FAR_FP, []
        )
    with pytest.raises(errors.BatchNotOwner):
        client(world, world.buyer).challenge(
            original, BASE_FP, pa.fp_proof(ia), copy, NEAR_FP, pb.fp_proof(ib)
        )


def test_batched_copy_of_single_token_revoked_alone(world):
    """A single Registry image copied into a batch: challengeWithSingle + finalize revokes the
    copy alone; its siblings keep owner and status; after the reward hold the challenger gets its
    deposit and the reward, the rest of the item's bond burns; nothing else moves."""
    register_esp(world)
    single = register_image(world, world.producer, fingerprint=BASE_FP)
    b_id, pb = register_batch(
        world, world.attacker, fingerprints=_with(random_fingerprints(4, seed=11), NEAR_FP)
    )
    ib = _index(pb, NEAR_FP)
    copy = tid(b_id, ib)
    c = client(world, world.producer)
    reward = world.params.challenge_reward
    deposit = world.params.challenge_deposit
    held = _held(world)
    c.challenge_with_single(single, proof(world, single), copy, NEAR_FP, pb.fp_proof(ib))
    assert _held(world) == held + deposit
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert c.finalize(single, copy)
    assert _held(world) == held + deposit  # deposit and bond held until `settle`
    world.chain.mine(world.params.reward_hold_blocks)
    before = world.balance(world.producer.address)
    c.settle(single, copy)
    spent_settle = gas_cost(c.last_receipt)
    assert world.balance(world.producer.address) == before + deposit + reward - spent_settle
    assert _held(world) == held - reward  # the rest of the bond burned: locked in the contract
    assert c.status(copy) is TokenStatus.REVOKED
    for i in range(pb.count):
        if i != ib:
            assert c.status(tid(b_id, i)) is TokenStatus.ACTIVE
            assert c.owner_of(tid(b_id, i)) == world.attacker.address
    assert c.owner_of(copy) == world.attacker.address  # revoked tokens stay where they are
    assert c.balance_of(world.attacker.address) == pb.count
    # The revoked copy cannot move, nor challenge anything.
    thief = client(world, world.attacker)
    with pytest.raises(errors.BatchTokenRevoked):
        thief.transfer(world.buyer.address, copy)
    # (through the producer's ESP: the settle slashed the copier's out of service)
    b2, _ = register_batch(world, world.buyer, fingerprints=[NEAR_FP], seed=12, esp=world.esp)
    with pytest.raises(errors.BatchTokenRevoked):
        thief.challenge(copy, NEAR_FP, pb.fp_proof(ib), tid(b2, 0), NEAR_FP, [])
    # A single-id below 2**96 is never a Registry token here.
    with pytest.raises(errors.BatchUnknownToken):
        c.challenge_with_single(5, proof(world, single), tid(b2, 0), NEAR_FP, [])


def test_contest_and_resolve_with_details(world):
    """Contested, the detail rule decides over details proven against the items roots: a real
    copy (JPEG-30, mirrored) is revoked; a compact false match (another image's detail) is not,
    and the contester takes both deposits."""
    original, pa, copy, pb = _original_and_copy(world, copy_detail=details()["near"])
    deposit = world.params.challenge_deposit
    _challenge(world, original, pa, copy, pb)
    thief = client(world, world.attacker)
    with pytest.raises(errors.BatchNotOwner):
        _contest(world, original, copy, pb, who=world.buyer)
    _contest(world, original, copy, pb)
    assert thief.dispute(original, copy).state is DisputeState.CONTESTED
    ia, ib = original & 0xFFFFFFFF, copy & 0xFFFFFFFF
    # The contester's opening is public: the challenger reads it from ItemOpened.
    opened = thief.opened_item(original, copy)
    assert opened is not None and bytes(opened["detail"]) == details()["near"]
    assert bytes(opened["contentHash"]) == pb.items[ib].content_hash
    with pytest.raises(errors.BatchNotContestedDetail):  # not the detail the contester opened
        client(world, world.buyer).resolve(
            original,
            copy,
            detail_a=details()["base"],
            opening_a=pa.opening(ia),
            detail_b=details()["far"],
            opening_b=pb.opening(ib),
        )
    with pytest.raises(errors.BatchBadProof):  # an original's detail its items root does not hold
        client(world, world.buyer).resolve(
            original,
            copy,
            detail_a=details()["near"],
            opening_a=pa.opening(ia),
            detail_b=details()["near"],
            opening_b=pb.opening(ib),
        )
    held = _held(world)
    upheld = client(world, world.buyer).resolve(
        original,
        copy,
        detail_a=details()["base"],
        opening_a=pa.opening(ia),
        detail_b=details()["near"],
        opening_b=pb.opening(ib),
    )
    assert upheld and thief.status(copy) is TokenStatus.REVOKED
    assert _held(world) == held  # both deposits and the bond held until `settle`
    world.chain.mine(world.params.reward_hold_blocks)
    client(world, world.buyer).settle(original, copy)
    assert _held(world) == held - 2 * deposit - world.params.challenge_reward


def test_contest_rejected_pays_the_contester(world):
    original, pa, copy, pb = _original_and_copy(world, copy_detail=details()["far"])
    deposit = world.params.challenge_deposit
    _challenge(world, original, pa, copy, pb)
    thief = client(world, world.attacker)
    _contest(world, original, copy, pb)
    before = world.balance(world.attacker.address)
    ia, ib = original & 0xFFFFFFFF, copy & 0xFFFFFFFF
    upheld = client(world, world.buyer).resolve(
        original,
        copy,
        detail_a=details()["base"],
        opening_a=pa.opening(ia),
        detail_b=details()["far"],
        opening_b=pb.opening(ib),
    )
    assert not upheld
    assert world.balance(world.attacker.address) == before + 2 * deposit
    assert thief.status(copy) is TokenStatus.ACTIVE
    assert thief.dispute(original, copy).state is DisputeState.REJECTED


def test_contest_needs_the_contesters_own_opening(world):
    """A contester without its item's data cannot contest: a wrong detail, content hash, seed,
    another item's proof or no proof is refused (BatchBadProof), deposit kept; the challenge
    stays open and, uncontested, revokes."""
    original, pa, copy, pb = _original_and_copy(world, copy_detail=details()["near"])
    _challenge(world, original, pa, copy, pb)
    ib = copy & 0xFFFFFFFF
    good = pb.opening(ib)
    other = next(i for i in range(pb.count) if i != ib)
    wrong = [
        {"detail": details()["far"]},
        {"opening": replace(good, content_hash=b"\x07" * 32)},
        {"opening": replace(good, seed=good.seed + 1)},
        {"opening": pb.opening(other)},
        {"opening": replace(good, proof=())},
    ]
    held = _held(world)
    for bad in wrong:
        with pytest.raises(errors.BatchBadProof):
            _contest(world, original, copy, pb, **bad)
    assert _held(world) == held
    c = client(world, world.producer)
    assert c.dispute(original, copy).state is DisputeState.OPEN
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert c.finalize(original, copy)
    assert c.status(copy) is TokenStatus.REVOKED


def test_contested_and_never_resolved_is_rejected(world):
    """The contester opened its item; the challenger, who holds both details, had the whole
    window to resolve and did not: finalize rejects, the contester takes both deposits and
    keeps its token."""
    original, pa, copy, pb = _original_and_copy(world, copy_detail=details()["near"])
    deposit = world.params.challenge_deposit
    _challenge(world, original, pa, copy, pb)
    _contest(world, original, copy, pb)
    c = client(world, world.producer)
    with pytest.raises(errors.BatchDisputeWindow):
        c.finalize(original, copy)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    held = _held(world)
    before = world.balance(world.attacker.address)
    assert not c.finalize(original, copy)
    assert world.balance(world.attacker.address) == before + 2 * deposit
    assert _held(world) == held - 2 * deposit
    assert c.status(copy) is TokenStatus.ACTIVE
    assert c.dispute(original, copy).state is DisputeState.REJECTED
    with pytest.raises(errors.BatchDisputeExists):  # the pair is decided
        _challenge(world, original, pa, copy, pb)
    with pytest.raises(errors.BatchDisputeState):  # and too late to resolve
        c.resolve(
            original,
            copy,
            detail_a=details()["base"],
            opening_a=pa.opening(original & 0xFFFFFFFF),
            detail_b=details()["near"],
            opening_b=pb.opening(copy & 0xFFFFFFFF),
        )


def test_withheld_original_cannot_revoke_a_contesting_victim(world):
    """The squatter attack (issue 16 review): a squatter batches a "central" image under its own
    ESP and never publishes its manifest, then challenges a later, different image within the
    compact rule. The victim contests with its own opening; it cannot open the squatter's item
    (resolve needs both), but it does not have to: the squatter either resolves and the detail
    rule rejects it, or withholds and finalize rejects it. Either way the victim keeps its token
    and takes both deposits; the squatter loses its deposit and gets no reward."""
    deposit = world.params.challenge_deposit
    register_esp(world)
    # Squatter = world.attacker (its batch through world.esp, manifest never published).
    s_id, ps = register_batch(
        world,
        world.attacker,
        fingerprints=[*random_fingerprints(2, seed=31), BASE_FP],
        item_details=[details()["far"], details()["far"], details()["base"]],
        esp=world.esp,
    )
    # Victim = world.buyer, later, another ESP, an image whose compact fingerprint is near.
    v_id, pv = register_batch(
        world,
        world.buyer,
        fingerprints=[*random_fingerprints(2, seed=32), NEAR_FP],
        item_details=[details()["far"], details()["far"], details()["far"]],
    )
    squat = tid(s_id, ps.fingerprints.index(BASE_FP))
    victim = tid(v_id, pv.fingerprints.index(NEAR_FP))
    _challenge(world, squat, ps, victim, pv, who=world.attacker)
    _contest(world, squat, victim, pv, who=world.buyer)
    # The victim cannot open the squatter's item (a guessed opening fails the items root).
    vc = client(world, world.buyer)
    with pytest.raises(errors.BatchBadProof):
        vc.resolve(
            squat,
            victim,
            detail_a=details()["far"],
            opening_a=pv.opening(victim & 0xFFFFFFFF),
            detail_b=details()["far"],
            opening_b=pv.opening(victim & 0xFFFFFFFF),
        )
    world.chain.mine(world.params.dispute_window_blocks + 1)
    squatter_before = world.balance(world.attacker.address)
    victim_before = world.balance(world.buyer.address)
    assert not client(world, world.producer).finalize(squat, victim)  # a third party pays gas
    assert vc.status(victim) is TokenStatus.ACTIVE
    assert vc.owner_of(victim) == world.buyer.address
    assert world.balance(world.buyer.address) == victim_before + 2 * deposit
    assert world.balance(world.attacker.address) == squatter_before  # no deposit, no reward
    assert vc.dispute(squat, victim).state is DisputeState.REJECTED


def test_squatter_that_resolves_is_rejected_by_the_detail_rule(world):
    """The same squatter, resolving with its own (withheld until now) opening: the detail
    rule sees two different images and rejects; the victim takes both deposits."""
    deposit = world.params.challenge_deposit
    register_esp(world)
    s_id, ps = register_batch(
        world,
        world.attacker,
        fingerprints=[*random_fingerprints(2, seed=33), BASE_FP],
        item_details=[details()["far"], details()["far"], details()["base"]],
        esp=world.esp,
    )
    v_id, pv = register_batch(
        world,
        world.buyer,
        fingerprints=[*random_fingerprints(2, seed=34), NEAR_FP],
        item_details=[details()["base"], details()["base"], details()["far"]],
    )
    squat = tid(s_id, ps.fingerprints.index(BASE_FP))
    victim = tid(v_id, pv.fingerprints.index(NEAR_FP))
    _challenge(world, squat, ps, victim, pv, who=world.attacker)
    _contest(world, squat, victim, pv, who=world.buyer)
    sc = client(world, world.attacker)
    assert sc.opened_item(squat + 1, victim) is None  # another pair, never contested
    opened = sc.opened_item(squat, victim)
    victim_before = world.balance(world.buyer.address)
    upheld = sc.resolve(
        squat,
        victim,
        detail_a=details()["base"],
        opening_a=ps.opening(squat & 0xFFFFFFFF),
        detail_b=bytes(opened["detail"]),
        opening_b=ItemOpening(),  # not read again: the contester opened it
    )
    assert not upheld
    assert sc.status(victim) is TokenStatus.ACTIVE
    assert world.balance(world.buyer.address) == victim_before + 2 * deposit


@dataclass(frozen=True)
class _TwoFacedPlan(BatchPlan):
    """A malformed items tree: after the real leaves, more leaves declaring one index, under
    the ordered root (what the kit builds) or a commutative one (what the contract checked
    before items trees became positional)."""

    extra: tuple[bytes, ...] = ()
    commutative: bool = False

    @property
    def item_leaves(self) -> list[bytes]:
        return [*super().item_leaves, *self.extra]

    @property
    def items_root(self) -> bytes:
        return merkle_root(self.item_leaves) if self.commutative else super().items_root

    def leaf_proof(self, position: int) -> tuple[bytes, ...]:
        tree = merkle_proof if self.commutative else ordered_proof
        return tuple(tree(self.item_leaves, position))


def _two_faced(world, owner, esp, fps, dets, *, index, decoys, commutative):
    """Registers a batch of ``fps`` whose items tree also holds one leaf per detail of
    ``decoys``, each declaring ``index``; returns (batch id, plan)."""
    honest = plan(owner.address, esp.address, fps, dets)
    ch = honest.items[index].content_hash
    extra = tuple(item_leaf(index, ch, keccak(d), 7) for d in decoys)
    p = _TwoFacedPlan(
        honest.items, honest.owner, honest.esp, honest.salt, extra=extra, commutative=commutative
    )
    lock = paid_lock(world, owner, esp)
    client(world, owner).commit(p.commitment(), p.count)
    world.chain.mine(1)
    return reveal(world, owner, p, lock, esp), p


@pytest.mark.parametrize("commutative", [True, False], ids=["commutative", "ordered"])
def test_squatter_cannot_pick_among_many_leaves_for_its_index(world, commutative):
    """The squatter attack on the items tree (issue 16): a squatter whose (Sybil) ESP signs any
    root commits, for its "central" item, several leaves that all declare the item's index, each
    with another detail descriptor. When a victim contests, it resolves with whichever detail the
    detail rule matches with the victim's opened one. The items tree is ordered and checked
    against the index and the batch's count, so no leaf but the one at the index's position
    verifies: every decoy is refused (BatchBadProof), and so is its real item (its root is not
    the tree of its real leaves); the victim stays active."""
    register_esp(world)
    fps = [*random_fingerprints(2, seed=41), BASE_FP]
    dets = [details()["far"], details()["far"], details()["far"]]
    index = sorted(fps).index(BASE_FP)
    s_id, ps = _two_faced(
        world,
        world.attacker,
        world.esp,
        fps,
        dets,
        index=index,
        decoys=[details()["far"], details()["base"]],
        commutative=commutative,
    )
    v_id, pv = register_batch(
        world,
        world.buyer,
        fingerprints=[*random_fingerprints(2, seed=42), NEAR_FP],
        item_details=[details()["base"], details()["base"], details()["near"]],
    )
    squat, victim = tid(s_id, index), tid(v_id, pv.fingerprints.index(NEAR_FP))
    _challenge(world, squat, ps, victim, pv, who=world.attacker)
    _contest(world, squat, victim, pv, who=world.buyer)
    sc = client(world, world.attacker)
    real = ps.items[index]
    candidates = [(details()["far"], real.seed, index)]  # its real leaf
    candidates += [
        (d, 7, ps.count + k) for k, d in enumerate([details()["far"], details()["base"]])
    ]
    for detail, seed, position in candidates:
        with pytest.raises(errors.BatchBadProof):
            sc.resolve(
                squat,
                victim,
                detail_a=detail,
                opening_a=ItemOpening(real.content_hash, seed, ps.leaf_proof(position)),
                detail_b=details()["near"],
                opening_b=ItemOpening(),
            )
    assert sc.status(victim) is TokenStatus.ACTIVE
    assert sc.dispute(squat, victim).state is DisputeState.CONTESTED


def test_a_two_faced_copy_cannot_be_opened(world):
    """A copier commits an items tree with two leaves for its copy's index (the copy's detail
    and an unrelated one), hoping to contest with the unrelated one. Neither opening verifies
    against the ordered root (a count-1 batch's root is its one leaf), so the copier cannot
    contest at all and the uncontested challenge revokes the copy."""
    register_esp(world)
    a_id, pa = register_batch(
        world,
        world.producer,
        fingerprints=[BASE_FP],
        item_details=[details()["base"]],
        esp=world.esp,
    )
    original = tid(a_id, 0)
    copy_id, pb = _two_faced(
        world,
        world.attacker,
        copier_esp(world),
        [NEAR_FP],
        [details()["near"]],
        index=0,
        decoys=[details()["far"]],
        commutative=False,
    )
    copy = tid(copy_id, 0)
    _challenge(world, original, pa, copy, pb)
    ch = pb.items[0].content_hash
    for detail, seed, position in [
        (details()["near"], pb.items[0].seed, 0),
        (details()["far"], 7, 1),
    ]:
        with pytest.raises(errors.BatchBadProof):
            _contest(
                world,
                original,
                copy,
                pb,
                detail=detail,
                opening=ItemOpening(ch, seed, pb.leaf_proof(position)),
            )
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert client(world, world.producer).finalize(original, copy)
    assert client(world, world.attacker).status(copy) is TokenStatus.REVOKED


def test_value_conservation(world):
    """Ether held == bondPerItem x (committed-unrevealed + active items + items revoked by an
    unsettled challenge) + open and held deposits + burned Ether, at every step of a
    registration, challenge, contest, revocation and settlement."""
    bond, deposit = world.params.batch_bond_per_item, world.params.challenge_deposit
    burned_per_revocation = bond - world.params.challenge_reward
    assert _held(world) == 0
    original, pa, copy, pb = _original_and_copy(world, copy_detail=details()["near"])
    assert _held(world) == 6 * bond
    p = plan(world.buyer.address, world.esp.address, random_fingerprints(5, seed=21))
    client(world, world.buyer).commit(p.commitment(), 5)
    assert _held(world) == 11 * bond
    _challenge(world, original, pa, copy, pb)
    assert _held(world) == 11 * bond + deposit
    _contest(world, original, copy, pb)
    assert _held(world) == 11 * bond + 2 * deposit
    ia, ib = original & 0xFFFFFFFF, copy & 0xFFFFFFFF
    client(world, world.producer).resolve(
        original,
        copy,
        detail_a=details()["base"],
        opening_a=pa.opening(ia),
        detail_b=details()["near"],
        opening_b=pb.opening(ib),
    )
    # held until `settle`: the copy's bond and both deposits
    assert _held(world) == 11 * bond + 2 * deposit
    # (registered before the settle slashes the copier's ESP out of service)
    other_id, po = register_batch(
        world, world.attacker, fingerprints=[NEAR_FP], item_details=[details()["near"]], seed=41
    )
    other = tid(other_id, 0)
    assert _held(world) == 12 * bond + 2 * deposit
    world.chain.mine(world.params.reward_hold_blocks)
    client(world, world.buyer).settle(original, copy)
    # both deposits and the reward left; the rest of the copy's bond is burned in place
    assert _held(world) == 11 * bond + burned_per_revocation
    # A contested challenge left unresolved: rejected, both deposits to the contester.
    _challenge(world, original, pa, other, po)
    _contest(world, original, other, po)
    assert _held(world) == 11 * bond + burned_per_revocation + 2 * deposit
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert not client(world, world.producer).finalize(original, other)
    assert _held(world) == 11 * bond + burned_per_revocation
    client(world, world.buyer).forfeit_commit(p.commitment())
    # 6 active, 5 forfeited + one revoked item's rest burned
    assert _held(world) == 11 * bond + burned_per_revocation


def test_revoked_item_cannot_be_listed(world):
    """A revoked batch token cannot enter the hash-time-lock escrow (cannot be listed)."""
    original, pa, copy, pb = _original_and_copy(world, copy_detail=details()["near"])
    _challenge(world, original, pa, copy, pb)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    client(world, world.producer).finalize(original, copy)
    thief = client(world, world.attacker)
    htlc = world.deployment.htlc.address
    thief._send(thief.contract.functions.setApprovalForAll(htlc, True))
    with pytest.raises(errors.BatchTokenRevoked):
        world.htlc(world.attacker)._send(
            world.deployment.htlc.functions.lockERC721(
                thief.address,
                copy,
                world.buyer.address,
                b"\x01" * 32,
                world.chain.timestamp() + 3600,
            )
        )
