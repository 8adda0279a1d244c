"""A mis-attestation claimant publishes the copy's bytes itself (``PUT /v1/products/{token}/image``
from any signed-in account whose bytes hash to the token).

The attack: a plagiarist's own ESP attests a mirrored copy of the victim's image with an
unrelated image's values (no challenge is admissible), and the plagiarist never attaches its
image. The jurors' default image source (:class:`~services.provenance.juror.ApiImages`, the API's
``GET /v1/products/{token}/image``) then has no bytes, so every juror votes "no" (the claimant's
burden) and the victim's claim is Rejected: its deposit goes to the plagiarist. The victim holds
the copy's bytes (it found the copy), but the API let only the token's producer or owner attach
them (403). The token id is the content hash, so the bytes authenticate themselves: anyone may
attach them now, the API marks the token ``mismatch`` (off the market), the jurors read them and
vote "mis-attested", and the claim is Upheld. Bytes that do not hash to the token stay refused
(422 ``hash_mismatch``), whoever sends them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import skimage.data
from PIL import Image, ImageOps

from ledger.clients.registry import DisputeState, TokenStatus
from services.market_client import MarketClient
from services.provenance import detail_descriptor, fingerprint
from services.provenance.juror import ApiImages
from services.provenance.jury import JurorDuty
from tests.api.conftest import Api
from tests.api.test_committee_flow import committee_api
from tests.contracts.committee_kit import CommitteeWorld, committee_world
from tests.contracts.helpers import register_esp
from tests.contracts.misattestation_kit import claim, finalize, png, register_pixels


@pytest.fixture
def committee(embedded_chain) -> Iterator[CommitteeWorld]:
    yield from committee_world(embedded_chain)


@pytest.fixture
def api(committee, tmp_path, api_database_url) -> Iterator[Api]:
    yield from committee_api(committee, tmp_path, api_database_url)


def _copy() -> Image.Image:
    return ImageOps.mirror(Image.fromarray(skimage.data.camera()).convert("RGB"))


def _misattested_copy(api: Api) -> int:
    """The plagiarist's mirrored camera, attested by its own ESP with the astronaut's values;
    its image never attached."""
    world = api.world
    register_esp(world)
    esp = register_esp(world, world.accounts[8])
    unrelated = Image.fromarray(skimage.data.astronaut()).convert("RGB")
    token = register_pixels(
        world,
        world.attacker,
        _copy(),
        esp=esp,
        fingerprint=fingerprint(unrelated).to_bytes32(),
        detail=detail_descriptor(unrelated),
    )
    api.index()
    return token


def _put(api: Api, account, token: int, data: bytes):
    return api.client.put(
        f"/v1/products/{token}/image",
        files={"image": ("copy.png", data, "image/png")},
        headers=api.sign_in(account),
    )


def _duties(api: Api, committee: CommitteeWorld, tmp_path: Path) -> list[JurorDuty]:
    world = api.world
    return [
        JurorDuty(
            world.deployment,
            world.tx(juror),
            ApiImages(MarketClient(api.client, juror)),
            state_path=tmp_path / f"{juror.address}.juror.json",
        )
        for juror in committee.enroll(5)
    ]


def _serve(committee: CommitteeWorld, duties: list[JurorDuty], key: bytes) -> list[str]:
    chain = committee.world.chain
    log = [line for d in duties for line in d.step()]
    review = committee.committee().review(key)
    chain.mine(max(0, review.commit_deadline - chain.w3.eth.block_number))
    log += [line for d in duties for line in d.step()]
    chain.mine(max(0, review.reveal_deadline - chain.w3.eth.block_number))
    log += [line for d in duties for line in d.step()]
    return log


def test_a_victim_publishes_the_copys_bytes_and_the_claim_is_upheld(api, committee, tmp_path):
    world = api.world
    token = _misattested_copy(api)
    victim = world.producer  # neither the copy's producer nor its owner
    r = _put(api, victim, token, png(_copy()))
    assert r.status_code == 200, r.text
    product = r.json()
    assert product["has_image"] is True and product["attestation"] == "mismatch"
    assert product["owner"] == world.attacker.address  # attaching the bytes moves nothing
    # the same bytes again (any account): the same answer, nothing else changes
    again = _put(api, world.buyer, token, png(_copy()))
    assert again.status_code == 200 and again.json() == product, again.text
    duties = _duties(api, committee, tmp_path)
    key = claim(committee, token, victim)
    log = _serve(committee, duties, key)
    entries = [d.reviews["0x" + key.hex()] for d in duties]
    assert [e["vote"] for e in entries] == [True] * 5, log
    assert "mis-attested" in entries[0]["reason"]
    assert finalize(committee, token, world.buyer) is DisputeState.UPHELD
    assert world.registry(world.deployer).record(token).status is TokenStatus.REVOKED


def test_bytes_that_are_not_the_tokens_are_refused_whoever_sends_them(api):
    world = api.world
    token = _misattested_copy(api)
    other = png(Image.fromarray(skimage.data.astronaut()).convert("RGB"))
    for account in (world.producer, world.attacker):  # a stranger, and the owner itself
        r = _put(api, account, token, other)
        assert r.status_code == 422 and r.json()["error"]["code"] == "hash_mismatch", r.text
    product = api.client.get(f"/v1/products/{token}").json()
    assert product["has_image"] is False and product["attestation"] == "unchecked"
    r = api.client.put(
        f"/v1/products/{token}/image", files={"image": ("copy.png", png(_copy()), "image/png")}
    )
    assert r.status_code == 401, r.text  # signed in: uploads are counted per account
