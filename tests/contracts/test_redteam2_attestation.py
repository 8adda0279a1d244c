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
from ledger.clients.registry import TokenStatus
from services.provenance import detail_descriptor, detail_matches, fingerprint
from tests.contracts.helpers import challenge_and_finalize, register_esp, register_image


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.xfail(
    strict=True,
    raises=errors.RegistryNotAdmissible,
    reason="nothing on chain ties a record's fingerprint or descriptor to its content: a "
    "plagiarist running its own staked ESP attests a copy with another image's fingerprint, "
    "so no challenge of it is admissible and its ESP is never slashed",
)
def test_a_plagiarist_with_its_own_esp_cannot_make_a_copy_unchallengeable(world):
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

    Fix (contract): a challenge that does not rely on the record's attested values: a
    "mis-attestation" dispute, opened with a deposit against any token, in which the committee
    recomputes the record's fingerprint and detail descriptor from its content-addressed image
    (the accused must publish it: withholding loses, as the jurors' burden rule already says)
    and an upheld claim revokes the token and slashes the attesting ESP (the false attestation
    is the ESP's own signature over wrong values, so a slash here cannot be farmed from an
    honest ESP); then, with the true values, the ordinary challenge follows. Designed, with its
    measured parts, in docs/contracts.md ("Open: a fraud proof of a mis-attestation"): the claim
    at the BatchCourt (the Registry's court-only ``revokeCopied``, no new Registry code), the
    claimant publishing the content-addressed bytes (the burden is its own)."""
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
    original = register_image(
        world,
        victim,
        fingerprint=true_fp.to_bytes32(),
        detail=detail_descriptor(camera),
        content=_png(camera),
    )
    copy = register_image(
        world,
        plagiarist,
        esp=plagiarist_esp,
        fingerprint=fingerprint(unrelated).to_bytes32(),  # another image's values, attested
        detail=detail_descriptor(unrelated),
        content=_png(copy_image),  # the copy's own bytes
    )

    assert challenge_and_finalize(world, victim, original, copy) is True

    assert world.registry(world.deployer).record(copy).status is TokenStatus.REVOKED
