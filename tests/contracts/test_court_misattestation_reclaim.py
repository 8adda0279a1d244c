"""A mis-attestation claim whose token is reclaimed before it is decided (helper S2's finding).

``reclaim`` writes a new record for the token (an earlier payer of its ESP registers the same
bytes), so the claim's record is no longer the token's: the court then decides nothing (Void,
the claimant's deposit back), but only when called with the *claimed* record's proof. The CLI,
the API's prepared finalize and the ledger's callers sent the token's current record, which the
court refuses (``CourtBadProof``): the claim could never be closed and the claimant's deposit
stayed in the court. A plagiarist whose own ESP has a Sybil with an older lock can do that on
purpose. ``BatchCourtClient.claimed_record`` finds the claimed record among the token's
``Registered`` events."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ledger import errors
from ledger.clients.registry import DisputeState
from services.content import canonical_hash
from services.provenance import detail_descriptor, fingerprint
from tests.contracts.committee_kit import committee_world
from tests.contracts.helpers import paid_lock, register_esp, registration
from tests.contracts.misattestation_kit import (
    camera,
    claim,
    copy_of,
    court,
    record_of,
    register_pixels,
    unrelated,
)


@pytest.fixture
def cw(chain):
    yield from committee_world(chain)


def test_a_claim_on_a_token_reclaimed_since_is_closed_void_with_the_claimed_record(cw):
    world = cw.world
    esp = register_esp(world, world.accounts[8])  # the plagiarist's own ESP
    sybil = world.accounts[9]
    sybil_lock = paid_lock(world, sybil, esp)  # older than the copy's lock
    copy, other = copy_of(camera()), unrelated()
    wrong = {"fingerprint": fingerprint(other).to_bytes32()}
    detail = detail_descriptor(other)
    token = register_pixels(world, world.attacker, copy, esp=esp, detail=detail, **wrong)
    claimed = record_of(world, token)
    cw.enroll()
    key = claim(cw, token, world.producer)

    # the Sybil reclaims the copy with its older lock: a new record of the same token
    reg = registration(sybil.address, esp.address, lock=sybil_lock, detail=detail, **wrong)
    reg = replace(reg, content_hash=canonical_hash(copy))
    registry = world.registry(sybil)
    registry.commit(reg)
    registry.reclaim(reg, sybil_lock, registry.sign_attestation(esp, reg))
    assert record_of(world, token) != claimed
    cw.vote(key, [True] * 5)

    finalizer = court(world, world.buyer)
    with pytest.raises(errors.CourtBadProof):  # what the tools sent before: the current record
        finalizer.finalize_misattested(token, record_of(world, token))
    assert finalizer.claimed_record(token, world.registry(world.deployer)) == claimed
    before = world.balance(world.producer.address)
    state = finalizer.finalize_misattested(
        token, finalizer.claimed_record(token, world.registry(world.deployer))
    )
    assert state is DisputeState.VOID
    assert world.balance(world.producer.address) - before == finalizer.deposit()
