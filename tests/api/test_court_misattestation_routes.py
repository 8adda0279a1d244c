"""/v1/tx/batch/court/claim-misattested and /finalize-misattested: the BatchCourt's
mis-attestation claim prepared by the API from the index (the token's record proof from its
``Registered`` event), signed by the caller's wallet and relayed; what the court or the
committee refuses is a 409 with the contract's error name (from the estimate), an unknown token
a 404, never a 500. The claim's guards and its decision: tests/contracts/
test_court_misattestation.py."""

from __future__ import annotations

import skimage.data
from PIL import Image, ImageOps

from ledger.clients.batch_court import BatchCourtClient
from ledger.clients.committee import CommitteeClient
from ledger.clients.registry import DisputeState
from services.provenance import detail_descriptor, fingerprint
from tests.api.test_tx import _sign_and_relay
from tests.contracts.helpers import register_esp
from tests.contracts.misattestation_kit import MANIFESTS, register_item_pixels, register_pixels

CLAIM = "/v1/tx/batch/court/claim-misattested"
FINALIZE = "/v1/tx/batch/court/finalize-misattested"


def _misattested_copy(world) -> int:
    """The attacker's mirrored camera attested by its own ESP with the astronaut's values."""
    register_esp(world)
    esp = register_esp(world, world.accounts[8])
    copy = ImageOps.mirror(Image.fromarray(skimage.data.camera()).convert("RGB"))
    unrelated = Image.fromarray(skimage.data.astronaut()).convert("RGB")
    return register_pixels(
        world,
        world.attacker,
        copy,
        esp=esp,
        fingerprint=fingerprint(unrelated).to_bytes32(),
        detail=detail_descriptor(unrelated),
    )


def test_a_mis_attestation_claim_is_prepared_from_the_index(api):
    world = api.world
    token = _misattested_copy(world)
    api.index()
    headers = api.sign_in(world.producer)
    r = api.client.post(CLAIM, json={"token": hex(token ^ 1)}, headers=headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_product", r.text
    # no jurors enrolled: the committee cannot review the record, refused by name
    r = api.client.post(CLAIM, json={"token": str(token)}, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "CommitteeTooSmall", r.text
    for juror in [world.esp, *(world.accounts[i] for i in (5, 6, 7, 9))]:
        if juror is not world.esp:
            register_esp(world, juror)
        CommitteeClient(world.deployment, world.tx(juror)).enroll()
    court = BatchCourtClient(world.deployment)
    r = api.client.post(CLAIM, json={"token": str(token)}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["to"] == court.address
    fee = CommitteeClient(world.deployment).params().review_fee
    assert int(r.json()["value"]) == court.deposit() + fee
    _sign_and_relay(api, world.producer, r.json(), headers)
    claim = court.misattestation(token)
    assert (claim.state, claim.claimant, claim.round) == (
        DisputeState.OPEN,
        world.producer.address,
        1,
    )
    r = api.client.post(CLAIM, json={"token": str(token)}, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "CourtDisputeExists", r.text
    r = api.client.post(FINALIZE, json={"token": str(token)}, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "CourtDisputeWindow", r.text
    r = api.client.post(FINALIZE, json={"token": "not a token"}, headers=headers)
    assert r.status_code == 422, r.text
    r = api.client.post(FINALIZE, json={"token": str(token)})
    assert r.status_code == 401, r.text


def test_a_batch_items_claim_is_prepared_from_its_manifest(api):
    """The copy registered as a batch item: the claim opens it from its published manifest
    (404 ``manifest_not_published`` before: nobody can prove which bytes the item is), the
    court records it (round 1) and its finalize is prepared with the claimed values."""
    world = api.world
    register_esp(world)
    esp = register_esp(world, world.accounts[8])
    copy = ImageOps.mirror(Image.fromarray(skimage.data.camera()).convert("RGB"))
    unrelated = Image.fromarray(skimage.data.astronaut()).convert("RGB")
    item = register_item_pixels(
        world,
        world.attacker,
        copy,
        esp=esp,
        fingerprint=fingerprint(unrelated).to_bytes32(),
        detail=detail_descriptor(unrelated),
    )
    for juror in [world.esp, *(world.accounts[i] for i in (5, 6, 7, 9))]:
        if juror is not world.esp:
            register_esp(world, juror)
        CommitteeClient(world.deployment, world.tx(juror)).enroll()
    api.index()
    headers = api.sign_in(world.producer)
    r = api.client.post(CLAIM, json={"token": str(item.token_id)}, headers=headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "manifest_not_published", r.text
    batch_id = item.token_id >> 32
    attacker = api.sign_in(world.attacker)
    r = api.client.post(
        f"/v1/batches/{batch_id}/manifest", json=MANIFESTS[item.token_id], headers=attacker
    )
    assert r.status_code == 200, r.text
    r = api.client.post(CLAIM, json={"token": str(item.token_id)}, headers=headers)
    assert r.status_code == 200, r.text
    court = BatchCourtClient(world.deployment)
    fee = CommitteeClient(world.deployment).params().review_fee
    assert int(r.json()["value"]) == court.deposit() + fee
    _sign_and_relay(api, world.producer, r.json(), headers)
    claim = court.misattestation(item.token_id)
    assert (claim.state, claim.claimant, claim.round) == (
        DisputeState.OPEN,
        world.producer.address,
        1,
    )
    r = api.client.post(FINALIZE, json={"token": str(item.token_id)}, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "CourtDisputeWindow", r.text
    r = api.client.post(CLAIM, json={"token": str(item.token_id + 5)}, headers=headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_product", r.text
