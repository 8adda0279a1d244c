"""Red team 5: the newest on-chain rules attacked as a held-out prober would, each attack a test.

The rules: the BatchCourt's mis-attestation claim (``claimMisattested`` / ``claimMisattestedItem``
/ ``finalizeMisattested``, its committee ``requestRecordReview``, the registries' court-only
``revokeCopied``), the upheld claim's fee refund out of the copy's bond (dea0b60), and the
Registry's transfer hold (``_update``: no move with an ``auth`` within ``registrationWindow +
commitTtl`` blocks of the record's block, ae9903b). For each: who pays, who profits.

Attacks tried (each test passes: the guard holds, and the test says which guard):

* a contract claimant re-entering the court from its payout to finalise a second claim in the
  same call (the court's transient guard: paid once per claim, the second claim intact);
* a claim upheld on a single copy that a batched original has also challenged at the court:
  the challenge is then Void (deposit back), the bond paid once; and the other order, the
  challenge upheld first: the claim is Void, ``settle`` pays the challenger from the copy's
  bond and nobody else's deposit (the court holds exactly the open deposits at every step);
* the same two races for a batch item, the other forum being the BatchRegistry's own
  challenge: the item's bond leaves the BatchRegistry once (the whole bond to the court for
  the claim, or the reward at ``settle``), never twice;
* a claim finalised after its token was revoked at the Registry and reinstated there (the
  winner itself revoked by a claim, the Registry's ``settle`` reversed): decided on the token as
  it stands, its bond leaves once;
* a forged single registered under a batch item's id holding the item's claim slot open (the
  one hole: ``claimMisattested`` now refuses ids below 2**96);
* a holder escaping the transfer hold through an operator for all its tokens, a
  ``safeTransferFrom`` with data to a receiving contract, or the swap escrow's ERC-721 lock.

Runs on the default chain backend (anvil under CI)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import skimage.data
from eth_account.signers.local import LocalAccount
from PIL import Image

from ledger import errors, new_secret
from ledger.clients.batch_court import MisattestedItem
from ledger.clients.committee import record_review_key
from ledger.clients.registry import DisputeState, TokenStatus
from services.provenance import detail_descriptor, fingerprint
from tests.contracts.attack_kit import Attacker, burn_address
from tests.contracts.batch_kit import BatchPlan, random_fingerprints, register_batch, tid
from tests.contracts.batch_kit import client as batch_client
from tests.contracts.committee_kit import CommitteeWorld, committee_world
from tests.contracts.helpers import (
    details,
    paid_lock,
    register_esp,
    register_image,
    registration,
)
from tests.contracts.misattestation_kit import (
    Images,
    camera,
    claim,
    claim_item,
    copy_of,
    court,
    court_balance,
    finalize,
    finalize_item,
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


def _fake_values() -> tuple[bytes, bytes]:
    """The unrelated image's values, which the plagiarist's ESP attests on its copies."""
    other = unrelated()
    return fingerprint(other).to_bytes32(), detail_descriptor(other)


def _copy(cw: CommitteeWorld, image: Image.Image, esp: LocalAccount) -> int:
    """The attacker's copy of ``image`` as a single token, attested by ``esp`` (the
    plagiarist's) with the unrelated image's values."""
    fp, detail = _fake_values()
    return register_pixels(
        cw.world, cw.world.attacker, copy_of(image), esp=esp, fingerprint=fp, detail=detail
    )


def _copy_item(cw: CommitteeWorld, esp: LocalAccount) -> MisattestedItem:
    """The same copy of the camera hidden as an item of a two-item batch."""
    fp, detail = _fake_values()
    return register_item_pixels(
        cw.world, cw.world.attacker, copy_of(camera()), esp=esp, fingerprint=fp, detail=detail
    )


def _batched_original(cw: CommitteeWorld) -> tuple[int, BatchPlan]:
    """The producer's earlier batch (its honest ESP, world.esp) whose item holds the very
    fingerprint the plagiarist's ESP later attests on its copy: an admissible original of the
    copy at either forum (distance 0, another ESP, committed first)."""
    world = cw.world
    register_esp(world)
    fp, _ = _fake_values()
    fps = [fp, *random_fingerprints(1, seed=11)]
    batch_id, plan = register_batch(
        world, world.producer, fingerprints=fps, item_details=[details()["far"]] * 2, esp=world.esp
    )
    return tid(batch_id, plan.fingerprints.index(fp)), plan


def _plagiarist_esp(cw: CommitteeWorld) -> LocalAccount:
    return register_esp(cw.world, cw.world.accounts[8])


def _fee(cw: CommitteeWorld) -> int:
    return cw.committee().params().review_fee


def test_a_contract_claimant_reentering_on_its_payout_is_paid_once(cw):
    """The claimant is a contract (``ReentrantReceiver``) with two upheld claims ready: on the
    first payout it re-enters ``finalizeMisattested`` of the second. The court's transient guard
    refuses the inner call, the outer payment still lands (the receiver returns normally), the
    second claim stays Open and pays exactly once when finalised on its own; the court ends
    holding what it held before either claim."""
    world = cw.world
    esp = _plagiarist_esp(cw)
    coffee = Image.fromarray(skimage.data.coffee()).convert("RGB")
    tokens = [_copy(cw, camera(), esp), _copy(cw, coffee, esp)]
    images = Images({tokens[0]: png(copy_of(camera())), tokens[1]: png(copy_of(coffee))})
    cw.enroll(10)
    attacker = Attacker(world, world.attacker)
    contract = world.deployment.batch_court
    deposit, fee = court(world, world.buyer).deposit(), _fee(cw)
    held = court_balance(world)
    for token in tokens:
        record = record_of(world, token)
        attacker.execute(
            contract, "claimMisattested", token, record.as_tuple(), value=deposit + fee
        )
        key = record_review_key(contract.address, token, record.fingerprint, record.detail_hash, 1)
        cw.vote(cw.draw(key), honest_votes(cw, key, token, images))  # one review after the other
    params = world.registry(world.deployer).params()
    payout = deposit + min(params.challenge_reward + fee, params.bond)
    attacker.arm(contract, "finalizeMisattested", tokens[1], record_of(world, tokens[1]).as_tuple())
    before = world.balance(attacker.address)

    assert finalize(cw, tokens[0], world.buyer) is DisputeState.UPHELD

    assert attacker.attempted and not attacker.reentered
    assert world.balance(attacker.address) - before == payout
    assert court(world, world.buyer).misattestation(tokens[1]).state is DisputeState.OPEN
    assert finalize(cw, tokens[1], world.buyer) is DisputeState.UPHELD  # valid on its own
    assert world.balance(attacker.address) - before == 2 * payout
    assert court_balance(world) == held


def test_an_upheld_claim_voids_the_courts_challenge_of_the_same_copy(cw):
    """The victim both challenges the copy with its batched original and claims it
    mis-attested. The claim is upheld first (the copy revoked, its bond paid out at once); the
    challenge of the same copy then ends Void with its deposit back: the copy's bond is never
    paid twice and ``settle`` has nothing to pay. The court holds exactly the open deposits at
    each step."""
    world = cw.world
    original, plan = _batched_original(cw)
    token = _copy(cw, camera(), _plagiarist_esp(cw))
    cw.enroll()
    victim, c = world.producer, court(world, world.producer)
    deposit = c.deposit()
    held = court_balance(world)
    index = original & 0xFFFFFFFF
    c.challenge(
        original, plan.fingerprints[index], plan.fp_proof(index), token, record_of(world, token)
    )
    key = claim(cw, token, victim)
    assert court_balance(world) == held + 2 * deposit  # the challenge's and the claim's
    cw.vote(key, honest_votes(cw, key, token, Images({token: png(copy_of(camera()))})))
    assert finalize(cw, token, world.buyer) is DisputeState.UPHELD
    assert court_balance(world) == held + deposit  # the challenge's alone
    world.chain.mine(world.params.dispute_window_blocks + 1)
    before = world.balance(victim.address)

    assert court(world, world.buyer).finalize(original, token, record_of(world, token)) is False

    assert c.dispute(original, token).state is DisputeState.VOID
    assert world.balance(victim.address) - before == deposit
    assert court_balance(world) == held
    with pytest.raises(errors.CourtDisputeState):
        court(world, world.buyer).settle(original, token)
    with pytest.raises(errors.CourtTokenRevoked):  # nor challenged again
        c.challenge(
            original, plan.fingerprints[index], plan.fp_proof(index), token, record_of(world, token)
        )


def test_a_claim_on_a_copy_the_court_revoked_meanwhile_is_void_and_settle_pays_once(cw):
    """The other order: the challenge is upheld first (the copy revoked, its bond held for
    ``settle``), then the claim is finalised: Void, its deposit back (the jurors keep the fee
    they earned: nothing was decided, as for a reclaimed token); the settle pays the challenger
    its deposit and the reward out of the copy's bond and burns the rest: no claimant's deposit
    pays anyone, and the court ends holding what it held before."""
    world = cw.world
    original, plan = _batched_original(cw)
    token = _copy(cw, camera(), _plagiarist_esp(cw))
    cw.enroll()
    victim, c = world.producer, court(world, world.producer)
    deposit = c.deposit()
    params = world.registry(world.deployer).params()
    held = court_balance(world)
    index = original & 0xFFFFFFFF
    deadline = c.challenge(
        original, plan.fingerprints[index], plan.fp_proof(index), token, record_of(world, token)
    )
    key = claim(cw, token, world.buyer)
    cw.vote(key, honest_votes(cw, key, token, Images({token: png(copy_of(camera()))})))
    _past(world, deadline)
    assert court(world, world.buyer).finalize(original, token, record_of(world, token)) is True
    assert court_balance(world) == held + 2 * deposit + params.bond
    claimant_before = world.balance(world.buyer.address)
    assert finalize(cw, token, world.deployer) is DisputeState.VOID
    assert world.balance(world.buyer.address) - claimant_before == deposit
    assert court_balance(world) == held + deposit + params.bond
    world.chain.mine(world.params.reward_hold_blocks)
    before, burned = world.balance(victim.address), world.balance(burn_address(world))

    assert court(world, world.buyer).settle(original, token) is DisputeState.SETTLED

    assert world.balance(victim.address) - before == deposit + params.challenge_reward
    assert world.balance(burn_address(world)) - burned == params.bond - params.challenge_reward
    assert court_balance(world) == held
    assert world.registry(world.deployer).record(token).status is TokenStatus.REVOKED


def _past(world, deadline: int) -> None:
    """Mines so that the next transaction lands after ``deadline``."""
    world.chain.mine(max(0, deadline - world.chain.w3.eth.block_number))


def _item_challenge(
    cw: CommitteeWorld, original: int, plan: BatchPlan, item: MisattestedItem
) -> int:
    """The producer challenges ``item`` at the BatchRegistry with its batched original;
    returns the challenge's deadline."""
    index = original & 0xFFFFFFFF
    return batch_client(cw.world, cw.world.producer).challenge(
        original,
        plan.fingerprints[index],
        plan.fp_proof(index),
        item.token_id,
        item.fingerprint,
        item.fp_proof,
    )


def test_an_upheld_item_claim_voids_the_batch_registrys_challenge_and_the_bond_leaves_once(cw):
    """A batch item both claimed at the court and challenged at the BatchRegistry by an earlier
    batched original: the claim, upheld first, takes the item's whole bond from the
    BatchRegistry; the challenge then ends Void (deposit back), so ``settle`` never pays a
    reward out of a bond that already left (which would pay it from another item's bond)."""
    world = cw.world
    original, plan = _batched_original(cw)
    item = _copy_item(cw, _plagiarist_esp(cw))
    cw.enroll()
    registry = batch_client(world, world.buyer)
    bp = registry.params()
    br_before, held = world.balance(registry.address), court_balance(world)
    _item_challenge(cw, original, plan, item)
    key = claim_item(cw, item, world.producer)
    cw.vote(key, honest_item_votes(cw, key, item, Images({item.token_id: png(copy_of(camera()))})))
    assert finalize_item(cw, item, world.buyer) is DisputeState.UPHELD
    assert world.balance(registry.address) == br_before + bp.challenge_deposit - bp.bond_per_item
    world.chain.mine(world.params.dispute_window_blocks + 1)
    before = world.balance(world.producer.address)

    assert registry.finalize(original, item.token_id) is False

    assert registry.dispute(original, item.token_id).state is DisputeState.VOID
    assert world.balance(world.producer.address) - before == bp.challenge_deposit
    assert world.balance(registry.address) == br_before - bp.bond_per_item
    assert court_balance(world) == held
    with pytest.raises(errors.BatchDisputeState):
        registry.settle(original, item.token_id)


def test_an_item_claim_after_the_batch_registry_revoked_it_is_void_and_settle_pays_once(cw):
    """The other order: the BatchRegistry's challenge revokes the item first (its bond held
    there for ``settle``); the open claim is then Void (deposit back from the court); a new
    claim of the revoked item is refused; the settle pays the challenger its deposit and the
    reward, and the court and the BatchRegistry each hold only what they held before (the rest
    of the item's bond burned by staying)."""
    world = cw.world
    original, plan = _batched_original(cw)
    item = _copy_item(cw, _plagiarist_esp(cw))
    cw.enroll()
    registry = batch_client(world, world.buyer)
    bp = registry.params()
    br_before, held = world.balance(registry.address), court_balance(world)
    deadline = _item_challenge(cw, original, plan, item)
    key = claim_item(cw, item, world.buyer)
    cw.vote(key, honest_item_votes(cw, key, item, Images({item.token_id: png(copy_of(camera()))})))
    _past(world, deadline)
    assert registry.finalize(original, item.token_id) is True
    claimant_before = world.balance(world.buyer.address)
    assert finalize_item(cw, item, world.deployer) is DisputeState.VOID
    assert (
        world.balance(world.buyer.address) - claimant_before == court(world, world.buyer).deposit()
    )
    assert court_balance(world) == held
    with pytest.raises(errors.CourtTokenRevoked):
        court(world, world.buyer).claim_misattested_item(item, review_fee=_fee(cw))
    world.chain.mine(world.params.reward_hold_blocks)
    before = world.balance(world.producer.address)

    assert registry.settle(original, item.token_id) is DisputeState.SETTLED

    assert (
        world.balance(world.producer.address) - before == bp.challenge_deposit + bp.challenge_reward
    )
    assert world.balance(registry.address) == br_before - bp.challenge_reward
    assert court_balance(world) == held


def test_no_operator_safe_transfer_or_escrow_lock_escapes_the_transfer_hold(cw):
    """A fresh token's holder tries every other door out of the hold: an operator for all its
    tokens (``setApprovalForAll``), ``safeTransferFrom`` with data to a receiving contract, and
    the swap escrow's ERC-721 lock (a listing the HTLC pulls with ``transferFrom``). Each is
    ``RegistryTokenReclaimable`` up to the hold's last block; the block after, the operator's
    move goes through."""
    world = cw.world
    register_esp(world)
    holder, operator = world.attacker, world.accounts[8]
    token = register_image(world, holder, content=b"escape the hold")
    registry = world.deployment.registry
    until = world.registry(holder).reclaimable_until(token)
    receiver = Attacker(world, world.buyer).address  # an ERC-721 receiver
    tx = world.tx(holder)
    tx.send(registry.functions.setApprovalForAll(operator.address, True))
    with pytest.raises(errors.RegistryTokenReclaimable):
        world.tx(operator).send(
            registry.functions.transferFrom(holder.address, world.buyer.address, token)
        )
    with pytest.raises(errors.RegistryTokenReclaimable):
        tx.send(registry.functions.safeTransferFrom(holder.address, receiver, token, b"escape"))
    tx.send(registry.functions.approve(world.deployment.htlc.address, token))
    _, hashlock = new_secret()
    timelock = world.chain.timestamp() + 3600
    with pytest.raises(errors.RegistryTokenReclaimable):
        tx.send(
            world.deployment.htlc.functions.lockERC721(
                registry.address, token, world.buyer.address, hashlock, timelock
            )
        )
    assert world.registry(holder).owner_of(token) == holder.address
    world.chain.mine(until - world.chain.w3.eth.block_number)  # the next block is until + 1
    world.tx(operator).send(
        registry.functions.transferFrom(holder.address, world.buyer.address, token)
    )
    assert world.registry(holder).owner_of(token) == world.buyer.address


def _single_with_id(
    cw: CommitteeWorld, owner: LocalAccount, esp: LocalAccount, token_id: int
) -> int:
    """A single Registry token whose content hash is ``token_id``, attested by ``esp`` (the
    Registry cannot tell a content hash from any other 32 bytes: only an attested forgery has
    an id below 2**96, where batch items live)."""
    world = cw.world
    lock = paid_lock(world, owner, esp)
    reg = replace(
        registration(owner.address, esp.address, lock=lock, detail=details()["far"]),
        content_hash=token_id.to_bytes(32, "big"),
    )
    client = world.registry(owner)
    client.commit(reg)
    return client.reveal(reg, lock, client.sign_attestation(esp, reg))


def test_a_forged_single_with_an_items_id_cannot_hold_the_items_claim_open(cw):
    """The attack: the court keeps one claim per token id for both kinds, and a batch item's id
    (below 2**96) is also a valid single id to the Registry, which registers any attested 32
    bytes as a content hash. The plagiarist's own ESP attests a single whose content hash is its
    mis-attested item's id, and the plagiarist claims that single: while its claim is open the
    victim's claim of the item is ``CourtDisputeExists``. No juror can find bytes hashing to
    that id, so the single's claim is Rejected and its deposit comes back to its holder, the
    plagiarist: the item stays unclaimable for one review fee (0.01 ETH) per review
    (draw + 7,200 blocks, a day at the defaults), finalised and reclaimed in one transaction.

    The guard: a single's claim refuses an id below 2**96 (``CourtUnknownToken``), as the
    BatchRegistry's ``challengeWithSingle`` does, so the item's claim slot is only its own."""
    world = cw.world
    esp = _plagiarist_esp(cw)
    item = _copy_item(cw, esp)
    forged = _single_with_id(cw, world.attacker, esp, item.token_id)
    assert forged == item.token_id
    cw.enroll()
    fee = _fee(cw)
    with pytest.raises(errors.CourtUnknownToken):
        court(world, world.attacker).claim_misattested(
            forged, record_of(world, forged), review_fee=fee
        )
    key = claim_item(cw, item, world.producer)  # the victim's claim of the item opens
    cw.vote(key, honest_item_votes(cw, key, item, Images({item.token_id: png(copy_of(camera()))})))
    assert finalize_item(cw, item, world.buyer) is DisputeState.UPHELD
    assert batch_client(world, world.buyer).status(item.token_id) is TokenStatus.REVOKED


def test_a_claim_outlives_a_registry_revocation_reversed_and_the_bond_leaves_once(cw):
    """A claim finalised after the token was revoked and then reinstated: the victim claims copy
    T; meanwhile another copy O (earlier, another ESP, the same attested values) revokes T at the
    Registry; O is then itself claimed and revoked, so the Registry's ``settle`` reverses O's
    win and T is active again, its bond backing it again. The victim's open claim on T is then
    decided on T as it stands (active, the claimed record): Upheld, T's bond leaves the Registry
    once. The Registry ends holding exactly two bonds less (O's and T's, both revoked by claims)
    and the court what it held before: no claim is paid from another token's bond."""
    world = cw.world
    register_esp(world)
    coffee = Image.fromarray(skimage.data.coffee()).convert("RGB")
    fp, detail = _fake_values()
    o = register_pixels(
        world, world.buyer, copy_of(coffee), esp=world.esp, fingerprint=fp, detail=detail
    )
    t = _copy(cw, camera(), _plagiarist_esp(cw))
    cw.enroll(10)
    bond = world.registry(world.deployer).params().bond
    registry_address = world.deployment.registry.address
    r0, held = world.balance(registry_address), court_balance(world)
    key_t = claim(cw, t, world.producer)
    cw.vote(key_t, honest_votes(cw, key_t, t, Images({t: png(copy_of(camera()))})))
    world.registry(world.buyer).challenge(o, t)
    _past(world, world.registry(world.buyer).dispute(o, t).deadline)
    assert world.registry(world.buyer).finalize(o, t) is True
    key_o = claim(cw, o, world.producer)
    cw.vote(key_o, honest_votes(cw, key_o, o, Images({o: png(copy_of(coffee))})))
    assert finalize(cw, o, world.deployer) is DisputeState.UPHELD
    world.registry(world.deployer).settle(o, t)
    assert world.registry(world.deployer).dispute(o, t).state is DisputeState.REVERSED
    assert world.registry(world.deployer).record(t).status is TokenStatus.ACTIVE

    assert finalize(cw, t, world.deployer) is DisputeState.UPHELD

    assert world.registry(world.deployer).record(t).status is TokenStatus.REVOKED
    assert world.balance(registry_address) == r0 - 2 * bond
    assert court_balance(world) == held
