"""Red team, round 2 (issue 11): what an ESP's attestation vouches for, when the ESP is the
plagiarist's own.

Where the contract still lets the attack through, the test states the behaviour the issue asks
for and is marked ``xfail(strict=True)`` with the hole in one line; the contract fix it needs is
in its docstring (contract changes are made by the contract build's owner).

Runs on the default chain backend (``world``).
"""

from __future__ import annotations

import io

import pytest
import skimage.data
from PIL import Image, ImageOps

from ledger import errors
from ledger.clients.registry import DisputeState, TokenStatus
from services.provenance import detail_descriptor, detail_matches, fingerprint
from tests.contracts.committee_kit import committee_world
from tests.contracts.helpers import register_esp
from tests.contracts.misattestation_kit import (
    Images,
    claim,
    court,
    finalize,
    honest_votes,
    png,
    register_pixels,
)


@pytest.fixture
def cw(chain):
    yield from committee_world(chain)


def test_a_plagiarist_with_its_own_esp_cannot_make_a_copy_unchallengeable(cw):
    """ESPs are permissionless (a stake, 0.1 ETH at the defaults, returned on exit). The
    plagiarist registers one and pays it from a Sybil (the fee comes back to itself). It copies
    a published image (a JPEG-30 mirrored copy of the victim's: the public fingerprint and
    detail rules both match the real pair, checked below) and reveals it under its own ESP's
    attestation with the fingerprint and descriptor of an unrelated image. The contract checks
    the attestation's signature, never that the attested values are the content's (they cannot
    be computed on chain). The victim's challenge then reverts ``RegistryNotAdmissible``
    (distance beyond the threshold): stage 1 never opens, so neither the detail rule nor the
    committee (which would see the image is not the record's) is ever asked; the plagiarist's
    ESP loses nothing, and the copy keeps a provenance record that anyone reads as original.
    ``revokeDuplicateImage`` needs the very bytes. The plagiarist pays its own fee and the bond
    (0.01 ETH, at stake with the token as any registration's): a copy per bond, for ever.

    The fix (built): the victim's ``BatchCourt.claimMisattested`` (a deposit and the
    committee's review fee) asks the committee to review the copy's *record*: each juror takes
    the copy's bytes from the content-addressed source (its token id is their content hash),
    recomputes the fingerprint and descriptor and finds the attested ones fail the public rules
    (``judge_record``); the finalize revokes the copy for good (the Registry's court-only
    ``revokeCopied``, no new Registry code), slashes the plagiarist's ESP (burned) and pays the
    claimant its deposit, the challenge reward and back its review fee out of the copy's bond
    (tests/contracts/test_court_misattestation_refund.py: the claimant loses only its gas)."""
    world = cw.world
    register_esp(world)
    victim, plagiarist = world.producer, world.attacker
    plagiarist_esp = register_esp(world, world.accounts[8])  # its own, staked
    camera = Image.fromarray(skimage.data.camera()).convert("RGB")
    buf = io.BytesIO()
    ImageOps.mirror(camera).save(buf, format="JPEG", quality=30)
    copy_image = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    unrelated = Image.fromarray(skimage.data.astronaut()).convert("RGB")
    # The real pair is a copy by both public rules (what an honest ESP would have attested).
    true_fp, copy_fp = fingerprint(camera), fingerprint(copy_image)
    if not (
        true_fp.matches(copy_fp)
        and detail_matches(detail_descriptor(camera), detail_descriptor(copy_image))
    ):
        raise RuntimeError("the test images no longer form a copy under the public rules")
    original = register_pixels(
        world, victim, camera, fingerprint=true_fp.to_bytes32(), detail=detail_descriptor(camera)
    )
    copy = register_pixels(
        world,
        plagiarist,
        copy_image,  # the copy's own bytes
        esp=plagiarist_esp,
        fingerprint=fingerprint(unrelated).to_bytes32(),  # another image's values, attested
        detail=detail_descriptor(unrelated),
    )
    # The ordinary challenge still compares the attested values: refused.
    with pytest.raises(errors.RegistryNotAdmissible):
        world.registry(victim).challenge(original, copy)

    cw.enroll()
    esps = world.esps(world.deployer)
    stake = esps.esp_info(plagiarist_esp.address).stake
    deposit = court(world, victim).deposit()
    key = claim(cw, copy, victim)
    votes = honest_votes(cw, key, copy, Images({copy: png(copy_image)}))
    assert votes == [True] * 5
    cw.vote(key, votes)
    before = world.balance(victim.address)
    assert finalize(cw, copy, world.buyer) is DisputeState.UPHELD  # anyone finalizes

    registry = world.registry(world.deployer)
    assert registry.record(copy).status is TokenStatus.REVOKED
    assert registry.record(original).status is TokenStatus.ACTIVE
    slash = min(stake, world.params.esp_slash_amount)
    assert esps.esp_info(plagiarist_esp.address).stake == stake - slash  # slashed
    assert esps.challenges_lost(plagiarist_esp.address) == 1
    assert esps.compensation_of(victim.address) == 0  # burned, not paid to the claimant
    params = registry.params()
    fee = cw.committee().params().review_fee
    # the reward and back the review fee, out of the copy's bond (all of it at the defaults)
    refunded = min(params.challenge_reward + fee, params.bond)
    assert world.balance(victim.address) - before == deposit + refunded
    assert court(world, victim).misattestation(copy).state is DisputeState.UPHELD
