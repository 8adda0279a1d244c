"""The juror's duty serves the court's record reviews (a mis-attestation claim: its
``ReviewRequested`` names ``original`` 0 at the BatchCourt) with ``judge_record``, end to end on
chain: draw, commit, reveal, settle, and the court's finalize revokes the copy."""

from __future__ import annotations

import io

import pytest
import skimage.data
from PIL import Image, ImageOps

from ledger.clients.registry import DisputeState, TokenStatus
from services.provenance import detail_descriptor, fingerprint
from services.provenance.jury import JurorDuty
from tests.contracts.batch_kit import client as batch_client
from tests.contracts.committee_kit import CommitteeWorld, committee_world
from tests.contracts.helpers import register_esp
from tests.contracts.misattestation_kit import (
    Images,
    claim,
    claim_item,
    finalize,
    finalize_item,
    png,
    register_item_pixels,
    register_pixels,
)


@pytest.fixture
def cw(chain):
    yield from committee_world(chain)


def _duties(cw: CommitteeWorld, jurors, images, tmp_path) -> list[JurorDuty]:
    return [
        JurorDuty(
            cw.world.deployment,
            cw.world.tx(juror),
            images,
            state_path=tmp_path / f"{juror.address}.json",
        )
        for juror in jurors
    ]


def _serve(cw: CommitteeWorld, duties: list[JurorDuty], key: bytes) -> list[str]:
    """Steps every duty through the commit, reveal and settlement of review ``key``."""
    chain = cw.world.chain
    log = [line for d in duties for line in d.step()]
    review = cw.committee().review(key)
    chain.mine(max(0, review.commit_deadline - chain.w3.eth.block_number))
    log += [line for d in duties for line in d.step()]
    chain.mine(max(0, review.reveal_deadline - chain.w3.eth.block_number))
    log += [line for d in duties for line in d.step()]
    return log


@pytest.mark.parametrize("misattested", [True, False])
def test_the_duty_judges_a_record_review_from_the_tokens_bytes(cw, tmp_path, misattested):
    """A copy attested with an unrelated image's values: every juror's duty votes "yes" and
    the claim revokes it. The same bytes attested honestly: "no", the token stays."""
    world = cw.world
    register_esp(world)
    esp = register_esp(world, world.accounts[8])
    buf = io.BytesIO()
    camera = Image.fromarray(skimage.data.camera()).convert("RGB")
    ImageOps.mirror(camera).save(buf, format="JPEG", quality=30)
    copy = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    attested = Image.fromarray(skimage.data.astronaut()).convert("RGB") if misattested else copy
    token = register_pixels(
        world,
        world.attacker,
        copy,
        esp=esp,
        fingerprint=fingerprint(attested).to_bytes32(),
        detail=detail_descriptor(attested),
    )
    jurors = cw.enroll()
    key = claim(cw, token, world.producer)
    duties = _duties(cw, jurors, Images({token: png(copy)}), tmp_path)
    log = _serve(cw, duties, key)
    entries = [d.reviews["0x" + key.hex()] for d in duties]
    assert [e["vote"] for e in entries] == [misattested] * 5, log
    assert all(e["stage"] == "settled" for e in entries), log
    state = finalize(cw, token, world.buyer)
    status = world.registry(world.deployer).record(token).status
    if misattested:
        assert "mis-attested" in entries[0]["reason"]
        assert state is DisputeState.UPHELD and status is TokenStatus.REVOKED
    else:
        assert state is DisputeState.REJECTED and status is TokenStatus.ACTIVE


@pytest.mark.parametrize("misattested", [True, False])
def test_the_duty_judges_a_batch_items_record_from_the_bytes_its_leaf_names(
    cw, tmp_path, misattested
):
    """The copy registered as a batch item (``claimMisattestedItem``): the duty reads the
    content hash and the attested descriptor from the court's ``ItemOpened``, judges the bytes
    whose canonical hash is that content hash (not the item's id), and the claim revokes the item
    when its values are an unrelated image's; attested honestly, "no" and the item stays."""
    world = cw.world
    register_esp(world)
    esp = register_esp(world, world.accounts[8])
    copy = ImageOps.mirror(Image.fromarray(skimage.data.camera()).convert("RGB"))
    attested = Image.fromarray(skimage.data.astronaut()).convert("RGB") if misattested else copy
    item = register_item_pixels(
        world,
        world.attacker,
        copy,
        esp=esp,
        fingerprint=fingerprint(attested).to_bytes32(),
        detail=detail_descriptor(attested),
    )
    jurors = cw.enroll()
    key = claim_item(cw, item, world.producer)
    duties = _duties(cw, jurors, Images({item.token_id: png(copy)}), tmp_path)
    log = _serve(cw, duties, key)
    entries = [d.reviews["0x" + key.hex()] for d in duties]
    assert [e["vote"] for e in entries] == [misattested] * 5, log
    state = finalize_item(cw, item, world.buyer)
    status = batch_client(world, world.deployer).status(item.token_id)
    if misattested:
        assert "mis-attested" in entries[0]["reason"]
        assert state is DisputeState.UPHELD and status is TokenStatus.REVOKED
    else:
        assert state is DisputeState.REJECTED and status is TokenStatus.ACTIVE
