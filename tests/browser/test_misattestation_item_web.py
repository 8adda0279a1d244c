"""The ``misattested_copy`` alert for a copy hidden as a batch item (docs/contracts.md, "fraud
proof of a mis-attestation"), on a real CommitteeVerifier: the plagiarist registers a mirrored
copy of the producer's camera image as an item of a batch its own ESP attested with the
astronaut's leaf values, publishes the manifest, and the copy's bytes are attached, so the API
tells the producer. The alert's Claim goes through the SDK's checked ``claimMisattested``, which
for a batch item is ``claimMisattestedItem`` with its opening proven against the batch's roots on
chain: a lying API (ten review fees, a forged opening: another seed, another item's opening) is
tx_mismatch in the page and never reaches the wallet. The honest claim opens it; the jurors
judge the bytes the item's content hash names; the alert's Finalize revokes the item, and the
item's own page shows the decided claim (before, the page skipped batch items and the SDK
refused an item's claim as an unknown call)."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import pytest
import skimage.data
from eth_utils import keccak
from PIL import Image, ImageOps

from ledger.clients.batch_court import BatchCourtClient, MisattestedItem
from ledger.clients.committee import record_review_key
from ledger.clients.registry import DisputeState, TokenStatus
from services.provenance import detail_descriptor, fingerprint
from tests.browser.conftest import axe_violations
from tests.browser.wallet import NodeBackedWallet
from tests.contracts.batch_kit import client as batch_client
from tests.contracts.helpers import register_esp
from tests.contracts.misattestation_kit import (
    MANIFESTS,
    Images,
    honest_item_votes,
    png,
    register_item_pixels,
    register_pixels,
)

pytestmark = pytest.mark.browser

NOTE = "li[data-kind=misattested_copy]"
CLAIM = "/v1/tx/batch/court/claim-misattested"


def _scene(site, committee) -> tuple[MisattestedItem, Image.Image]:
    world = committee.world
    committee.producer_esp()
    camera = Image.fromarray(skimage.data.camera()).convert("RGB")
    register_pixels(
        world,
        world.producer,
        camera,
        fingerprint=fingerprint(camera).to_bytes32(),
        detail=detail_descriptor(camera),
    )
    buf = io.BytesIO()
    ImageOps.mirror(camera).save(buf, format="JPEG", quality=30)
    copy = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    astronaut = Image.fromarray(skimage.data.astronaut()).convert("RGB")
    item = register_item_pixels(
        world,
        world.attacker,
        copy,
        esp=register_esp(world, world.accounts[8]),
        fingerprint=fingerprint(astronaut).to_bytes32(),
        detail=detail_descriptor(astronaut),
    )
    api = site.api
    api.index()
    attacker = api.sign_in(world.attacker)
    r = api.client.post(
        f"/v1/batches/{item.token_id >> 32}/manifest",
        json=MANIFESTS[item.token_id],
        headers=attacker,
    )
    assert r.status_code == 200, r.text
    files = {"image": ("i.png", png(copy), "image/png")}
    r = api.client.put(f"/v1/products/{item.token_id}/image", files=files, headers=attacker)
    assert r.status_code == 200 and r.json()["attestation"] == "mismatch", r.text
    notes = api.client.get("/v1/notifications", headers=api.sign_in(world.producer)).json()
    assert [n["kind"] for n in notes["items"]] == ["misattested_copy"], notes
    assert str(notes["items"][0]["duplicate"]) == str(item.token_id), notes
    return item, copy


def _lying(page, change) -> None:
    """The API's claim rewritten by ``change`` (its refusals pass as they are)."""

    def handle(route):
        answer = route.fetch()
        if answer.status != 200:
            route.fulfill(response=answer)
            return
        route.fulfill(response=answer, body=json.dumps(change(answer.json())))

    page.route(f"**{CLAIM}", handle)


def test_a_victim_claims_a_misattested_batch_item_from_its_alert_and_a_lying_api_is_refused(
    committee_site, browser
):
    site, committee = committee_site
    world = committee.world
    item, copy = _scene(site, committee)
    token = item.token_id
    committee.enroll(5)
    court = BatchCourtClient(world.deployment)
    fee = committee.committee().params().review_fee
    deposit = court.deposit()

    wallet = NodeBackedWallet(world.producer, world.chain)
    page = browser.new_context().new_page()
    wallet.install(page)
    page.goto(site.url + "/#/me")
    page.click("#connect")
    page.wait_for_selector(f"{NOTE} button.claim-misattested")
    page.wait_for_selector(f"{NOTE} .batch-item-claim")

    def encoded(forged: MisattestedItem) -> str:
        call = court.claim_misattested_item_call(forged, review_fee=fee)
        return "0x" + bytes.fromhex(call.fn._encode_transaction_data()[2:]).hex()

    # the batch's other item (of two): its content hash in this item's opening
    other = MANIFESTS[token]["items"][(token & 1) ^ 1]  # type: ignore[index]
    lies = (
        {"value": str(deposit + 10 * fee)},
        {"data": encoded(replace(item, opening=replace(item.opening, seed=99)))},
        {
            "data": encoded(
                replace(
                    item,
                    opening=replace(
                        item.opening,
                        content_hash=bytes.fromhex(other["content_hash"][2:]),
                    ),
                )
            )
        },
    )
    for lie in lies:
        _lying(page, lambda tx, lie=lie: {**tx, **lie})
        page.click(f"{NOTE} button.claim-misattested")
        page.wait_for_selector(f"{NOTE} p.error[data-code=tx_mismatch]")
        assert wallet.sent == [], lie
        page.unroute(f"**{CLAIM}")
    assert court.misattestation(token).state is DisputeState.NONE

    page.click(f"{NOTE} button.claim-misattested")
    page.wait_for_selector(f"{NOTE} p.ok[data-tx]", timeout=30_000)
    assert len(wallet.sent) == 1
    claim = court.misattestation(token)
    assert (claim.state, claim.claimant) == (DisputeState.OPEN, world.producer.address)
    page.wait_for_selector(f"{NOTE} p.claim-state[data-state=open]")
    page.wait_for_selector(f"{NOTE} button.finalize-misattested:visible")
    assert axe_violations(page) == []

    key = committee.draw(
        record_review_key(court.address, token, item.fingerprint, keccak(item.detail), claim.round)
    )
    votes = honest_item_votes(committee, key, item, Images({token: png(copy)}))
    assert votes == [True] * 5
    committee.vote(key, votes)
    page.click(f"{NOTE} button.finalize-misattested")
    page.wait_for_selector(f"{NOTE} p.ok:has-text('Upheld')", timeout=30_000)
    assert len(wallet.sent) == 2
    assert batch_client(world, world.deployer).status(token) is TokenStatus.REVOKED

    # the item's own page says the claim's outcome (read from the chain): it skipped batch items
    page.evaluate(f"() => {{ location.hash = '#/product/{token}'; }}")
    page.wait_for_selector("section.misattestation p.claim-state[data-state=upheld]")
    assert axe_violations(page) == []
