"""One image registered twice, in a batch and alone, under one ESP's attestations (issue 16's
last registration gap; issue 11's ESP front-running through a batch).

Before `BatchCourt.revokeDuplicateImage` neither token could be revoked: one ESP attesting both
is refused by every challenge path (`CourtSameEsp`, `BatchSameEsp`), so

* a producer who batched an image and then registered it alone (its per-delivery attestation is
  still valid) held two tokens of one image, and could sell both;
* an ESP that batched its customer's image for a Sybil left the Sybil a token of it forever.

Now anyone who proves that the batch item's opened content hash IS the single token's id gets the
second registration revoked at once: the later *published* one when one producer registered both
(nobody slashed), the one with the later *lock* when two payers did (the ESP sold one image twice,
the Registry's `reclaim` rule; its slash is burned, or two Sybils would farm it). Every test first
shows the stalemate (the challenge paths refuse), then the ruling, then where the Ether went.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace

import pytest
from eth_utils import keccak

from ledger import errors
from ledger.clients.batch_court import BatchCourtClient
from ledger.clients.registry import TokenStatus
from tests.contracts.attack_kit import burn_address, proof
from tests.contracts.batch_kit import (
    BatchPlan,
    client,
    plan,
    random_fingerprints,
    reveal,
    tid,
)
from tests.contracts.helpers import (
    BASE_FP,
    ESP_STAKE,
    copier_esp,
    details,
    paid_lock,
    past_reclaim,
    register_esp,
    register_image,
)


def court(world, account) -> BatchCourtClient:
    return BatchCourtClient(world.deployment, world.tx(account))


def _batch_holding(world, owner, content: bytes, *, esp, lock=None) -> tuple[int, BatchPlan, int]:
    """``owner``'s batch of three, one item being ``content`` (BASE_FP, the base detail);
    returns (batch id, plan, that item's token id)."""
    fps = [*random_fingerprints(2, seed=9), BASE_FP]
    p = plan(
        owner.address, esp.address, fps, [details()["far"], details()["far"], details()["base"]]
    )
    index = p.fingerprints.index(BASE_FP)
    items = list(p.items)
    items[index] = replace(items[index], content_hash=hashlib.sha256(content).digest())
    p = replace(p, items=tuple(items))
    lock = lock or paid_lock(world, owner, esp)
    client(world, owner).commit(p.commitment(), p.count)
    world.chain.mine(1)
    batch_id = reveal(world, owner, p, lock, esp)
    return batch_id, p, tid(batch_id, index)


def _single(world, owner, content: bytes, *, esp, lock=None) -> int:
    return register_image(
        world,
        owner,
        esp=esp,
        fingerprint=BASE_FP,
        detail=details()["base"],
        content=content,
        lock=lock,
    )


def _rule(world, who, item: int, p: BatchPlan, single: int, **over) -> int:
    """Asks the court's ruling as ``who``; returns the revoked id."""
    return _rule_paid(world, who, item, p, single, **over)[0]


def _rule_paid(world, who, item: int, p: BatchPlan, single: int, **over) -> tuple[int, int]:
    """As :func:`_rule`; also returns what ``who`` paid in gas."""
    index = item & 0xFFFFFFFF
    args = {
        "detail_hash": keccak(p.items[index].detail),
        "opening": p.opening(index),
        "record": proof(world, single),
    }
    args.update(over)
    c = court(world, who)
    revoked = c.revoke_duplicate_image(item, single, **args)
    receipt = c.last_receipt
    return revoked, int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])


def _esp(world, esp) -> tuple[int, int]:
    info = world.esps(world.deployer).esp_info(esp.address)
    return info.stake, info.challenges_lost


def _status(world, single: int) -> TokenStatus:
    return world.registry(world.deployer).record(single).status


def _batched_status(world, item: int):
    return client(world, world.deployer).status(item)


def _stalemate(world, item: int, p: BatchPlan, single: int) -> None:
    """Neither challenge path can take a pair one ESP attested (what the ruling fixes)."""
    index = item & 0xFFFFFFFF
    holder = next(
        a for a in world.accounts if a.address == client(world, world.deployer).owner_of(item)
    )
    with pytest.raises((errors.CourtSameEsp, errors.CourtChallengeOutOfOrder)):
        court(world, holder).challenge(
            item, p.fingerprints[index], p.fp_proof(index), single, proof(world, single)
        )


def test_a_producer_who_batched_an_image_then_registered_it_alone_loses_the_single(world):
    register_esp(world)
    content = b"one generation, registered twice by its producer"
    first_lock = paid_lock(world, world.producer, world.esp)  # the image's own, older lock
    _, p, item = _batch_holding(world, world.producer, content, esp=world.esp)
    single = _single(world, world.producer, content, esp=world.esp, lock=first_lock)
    assert _status(world, single) is TokenStatus.ACTIVE  # two live tokens of one image
    _stalemate(world, item, p, single)
    params = world.params
    held = world.balance(world.deployment.registry.address)
    burned = world.balance(burn_address(world))
    before = world.balance(world.buyer.address)
    stake = _esp(world, world.esp)
    revoked, gas = _rule_paid(world, world.buyer, item, p, single)  # anyone may ask
    assert revoked == single
    assert _status(world, single) is TokenStatus.REVOKED
    assert _batched_status(world, item) is TokenStatus.ACTIVE
    # The caller gets the reward out of the single's bond, the rest burns; nobody is slashed.
    assert world.balance(world.buyer.address) == before + params.challenge_reward - gas
    assert world.balance(world.deployment.registry.address) == held - params.registration_bond
    assert (
        world.balance(burn_address(world))
        == burned + params.registration_bond - params.challenge_reward
    )
    assert world.balance(court(world, world.buyer).address) == 0
    assert _esp(world, world.esp) == stake
    with pytest.raises(errors.CourtTokenRevoked):  # once
        _rule(world, world.buyer, item, p, single)


def test_a_sold_batched_item_cannot_be_taken_back_with_a_later_single(world):
    """The rug pull the ruling must not allow: the producer sells the batched item, registers
    the same image alone (with the older, per-delivery lock) and asks for a ruling: the single,
    published later, is the one revoked; the buyer keeps its item."""
    register_esp(world)
    content = b"sold, then registered again"
    first_lock = paid_lock(world, world.producer, world.esp)
    _, p, item = _batch_holding(world, world.producer, content, esp=world.esp)
    past_reclaim(world)  # a fresh item does not move (BatchTokenReclaimable): the lock is old now
    client(world, world.producer).transfer(world.buyer.address, item)
    single = _single(world, world.producer, content, esp=world.esp, lock=first_lock)
    assert _rule(world, world.producer, item, p, single) == single
    assert client(world, world.buyer).owner_of(item) == world.buyer.address
    assert _batched_status(world, item) is TokenStatus.ACTIVE


def test_a_producer_who_registered_alone_then_batched_loses_the_batched_item(world):
    """The other order (an ESP that signs the batch anyway, or an attestation obtained before the
    single's reveal): the batched item is the later registration; it alone is revoked, the rest
    of its batch untouched, its bond pays the caller's reward and the rest stays burned."""
    register_esp(world)
    content = b"registered alone first"
    single = _single(world, world.producer, content, esp=world.esp)
    batch_id, p, item = _batch_holding(world, world.producer, content, esp=world.esp)
    batches = client(world, world.deployer)
    held = world.balance(batches.address)
    before = world.balance(world.attacker.address)
    stake = _esp(world, world.esp)
    revoked, gas = _rule_paid(world, world.attacker, item, p, single)
    assert revoked == item
    assert _batched_status(world, item) is TokenStatus.REVOKED
    others = [tid(batch_id, i) for i in range(p.count) if tid(batch_id, i) != item]
    assert [batches.status(t) for t in others] == [TokenStatus.ACTIVE] * 2
    assert _status(world, single) is TokenStatus.ACTIVE
    assert world.balance(world.attacker.address) == before + world.params.challenge_reward - gas
    assert world.balance(batches.address) == held - world.params.challenge_reward
    assert _esp(world, world.esp) == stake
    with pytest.raises(errors.BatchTokenRevoked):  # a revoked item never moves again
        client(world, world.producer).transfer(world.buyer.address, item)


def test_an_esp_that_batches_its_customers_image_for_a_sybil_loses_the_sybils_item(world):
    """Issue 11's ESP front-running through a batch: the customer paid first (older lock), the
    ESP's Sybil batches the same bytes under a later lock and reveals first. The Sybil's item is
    revoked, its bond burned, and the ESP's slash burned too (nobody is paid it)."""
    register_esp(world)
    content = b"the customer's image"
    customer, sybil = world.producer, world.attacker
    customer_lock = paid_lock(world, customer, world.esp)
    _, p, item = _batch_holding(world, sybil, content, esp=world.esp)
    single = _single(world, customer, content, esp=world.esp, lock=customer_lock)
    _stalemate(world, item, p, single)
    assert _rule(world, customer, item, p, single) == item
    assert _batched_status(world, item) is TokenStatus.REVOKED
    assert _status(world, single) is TokenStatus.ACTIVE
    params = world.params
    assert _esp(world, world.esp) == (ESP_STAKE - params.esp_slash_amount, 1)
    esps = world.esps(world.deployer)
    assert esps.compensation_of(sybil.address) == esps.compensation_of(customer.address) == 0
    assert esps.compensation_of(burn_address(world)) == params.esp_slash_amount


def test_a_sybils_prepaid_lock_takes_the_image_at_the_cost_of_the_esps_stake(world):
    """The ESP prepays its Sybil's lock before the customer's (it chooses whose lock is older):
    the Registry's `reclaim` rule gives the image to the older lock, and the ESP's slash is
    burned (paid to the customer, it would be the bounty the next test farms)."""
    register_esp(world)
    content = b"the customer's image, again"
    customer, sybil = world.producer, world.attacker
    sybil_lock = paid_lock(world, sybil, world.esp)
    customer_lock = paid_lock(world, customer, world.esp)
    single = _single(world, customer, content, esp=world.esp, lock=customer_lock)
    _, p, item = _batch_holding(world, sybil, content, esp=world.esp, lock=sybil_lock)
    assert _rule(world, world.buyer, item, p, single) == single
    assert _status(world, single) is TokenStatus.REVOKED
    assert _esp(world, world.esp) == (ESP_STAKE - world.params.esp_slash_amount, 1)
    assert world.esps(world.deployer).compensation_of(customer.address) == 0


def test_two_sybils_cannot_farm_an_honest_esp_through_the_ruling(world):
    """The bundled model's bytes are fixed by prompt, seed and model, so two Sybils paying an
    honest ESP for one request receive the same image; one registers it alone, the other in a
    batch, and either asks the ruling. Were the slash paid to the payer who loses its token, the
    pair would collect 0.05 ETH for two 0.001 ETH fees and one 0.01 ETH bond; burned, the pair
    only loses (fees, the loser's bond less the caller's reward, gas)."""
    register_esp(world)
    content = b"one request, asked twice"
    early, late = world.attacker, world.accounts[5]
    pair = (early.address, late.address)
    before = sum(world.balance(a) for a in pair)
    early_lock = paid_lock(world, early, world.esp)
    _, p, item = _batch_holding(world, late, content, esp=world.esp)
    single = _single(world, early, content, esp=world.esp, lock=early_lock)
    assert _rule(world, early, item, p, single) == item  # the later lock's token goes
    esps = world.esps(world.deployer)
    assert esps.compensation_of(early.address) == esps.compensation_of(late.address) == 0
    with pytest.raises(errors.NoCompensation):
        world.esps(late).claim_compensation()
    params = world.params
    lost = params.batch_bond_per_item - params.challenge_reward  # the revoked item's bond
    assert sum(world.balance(a) for a in pair) < before - lost  # and two fees, and the gas


def test_only_one_esps_exact_duplicate_can_be_ruled(world):
    register_esp(world)
    content = b"the image"
    _, p, item = _batch_holding(world, world.producer, content, esp=world.esp)
    index = item & 0xFFFFFFFF
    # Another image (a near copy, another ESP): a challenge's business, not this ruling's.
    other = register_image(world, world.attacker, fingerprint=BASE_FP, detail=details()["base"])
    with pytest.raises(errors.CourtNotSameImage):
        _rule(world, world.buyer, item, p, other)
    # The same bytes attested by another ESP: one of the two ESPs lies; challenges decide.
    foreign = _single(world, world.attacker, content, esp=copier_esp(world))
    with pytest.raises(errors.CourtNotSameEsp):
        _rule(world, world.buyer, item, p, foreign)
    # Malformed openings and proofs change nothing.
    opening = p.opening(index)
    for bad in (
        {"detail_hash": keccak(details()["near"])},
        {"opening": replace(opening, seed=opening.seed + 1)},
        {"opening": replace(opening, proof=opening.proof[:-1])},
        {"opening": replace(opening, content_hash=hashlib.sha256(secrets.token_bytes(8)).digest())},
    ):
        with pytest.raises(errors.CourtBadProof):
            _rule(world, world.buyer, item, p, foreign, **bad)
    with pytest.raises(errors.CourtBadProof):
        _rule(
            world,
            world.buyer,
            item,
            p,
            foreign,
            record=replace(proof(world, foreign), reveal_block=1),
        )
    with pytest.raises(errors.CourtUnknownToken):
        court(world, world.buyer).revoke_duplicate_image(
            item - index + p.count,
            foreign,
            detail_hash=keccak(p.items[index].detail),
            opening=opening,
            record=proof(world, foreign),
        )
    assert _status(world, foreign) is TokenStatus.ACTIVE
    assert _batched_status(world, item) is TokenStatus.ACTIVE


def test_only_the_court_can_revoke_through_the_batch_registrys_hook(world):
    register_esp(world)
    _, _, item = _batch_holding(world, world.producer, b"x", esp=world.esp)
    batches = world.deployment.batch_registry
    for who in (world.attacker, world.producer, world.deployer):
        with pytest.raises(errors.BatchUnauthorizedCourt):
            world.tx(who).send(
                batches.functions.revokeCopied(item, 1, world.esp.address, who.address)
            )
    assert _batched_status(world, item) is TokenStatus.ACTIVE
