"""The ``misattested_copy`` alert's Claim button (docs/contracts.md, "fraud proof of a
mis-attestation"), on a real CommitteeVerifier (tests/contracts/committee_kit.py): a plagiarist's
copy of the producer's camera image, attested by its own ESP with the astronaut's values, is
claimed from the producer's page through the SDK's checked ``claimMisattested``. A lying API's
claim (ten review fees, the deposit sent to the attacker, another ESP's record) is tx_mismatch in
the page and never reaches the wallet; the honest claim pays exactly the deposit + the review fee
and opens the claim on chain; the jurors vote; the alert's Finalize revokes the copy, and the
copy's page shows the decided claim. Before, the alert had no button at all.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace

import pytest
import skimage.data
from PIL import Image, ImageOps

from ledger.clients.batch_court import BatchCourtClient
from ledger.clients.registry import DisputeState, TokenStatus
from services.provenance import detail_descriptor, fingerprint
from tests.browser.conftest import axe_violations
from tests.browser.wallet import NodeBackedWallet
from tests.contracts.helpers import register_esp
from tests.contracts.misattestation_kit import Images, honest_votes, png, record_of, register_pixels

pytestmark = pytest.mark.browser

NOTE = "li[data-kind=misattested_copy]"
CLAIM = "/v1/tx/batch/court/claim-misattested"


def _scene(site, committee) -> tuple[int, Image.Image]:
    """The producer's camera image (honest values) and the attacker's JPEG-30 mirrored copy
    attested by its own ESP with the astronaut's values; the copy's image uploaded, so the API
    recomputes its values and tells the producer (misattested_copy)."""
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
    token = register_pixels(
        world,
        world.attacker,
        copy,
        esp=register_esp(world, world.accounts[8]),
        fingerprint=fingerprint(astronaut).to_bytes32(),
        detail=detail_descriptor(astronaut),
    )
    api = site.api
    api.index()
    files = {"image": ("i.png", png(copy), "image/png")}
    r = api.client.put(
        f"/v1/products/{token}/image", files=files, headers=api.sign_in(world.attacker)
    )
    assert r.status_code == 200 and r.json()["attestation"] == "mismatch", r.text
    notes = api.client.get("/v1/notifications", headers=api.sign_in(world.producer)).json()
    assert [n["kind"] for n in notes["items"]] == ["misattested_copy"], notes
    return token, copy


def _lying(page, change) -> None:
    """The API's claim rewritten by ``change`` (its refusals pass as they are)."""

    def handle(route):
        answer = route.fetch()
        if answer.status != 200:
            route.fulfill(response=answer)
            return
        route.fulfill(response=answer, body=json.dumps(change(answer.json())))

    page.route(f"**{CLAIM}", handle)


def test_a_victim_claims_a_misattested_copy_from_its_alert_and_a_lying_api_is_refused(
    committee_site, browser
):
    site, committee = committee_site
    world = committee.world
    token, copy = _scene(site, committee)
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
    # the cost, read from the chain before anything is signed
    page.wait_for_selector(f"{NOTE} .misattestation-cost:has-text('review fee')")
    assert "plus the committee's review fee" in page.inner_text(f"{NOTE} .misattestation-cost")
    assert page.locator(f"{NOTE} button.finalize-misattested:visible").count() == 0

    other_esp = court.claim_misattested_call(
        token, replace(record_of(world, token), esp=world.attacker.address), review_fee=fee
    )
    lies = (
        {"value": str(deposit + 10 * fee)},
        {"to": world.attacker.address},
        {"data": other_esp.fn._encode_transaction_data()},
    )
    for lie in lies:
        _lying(page, lambda tx, lie=lie: {**tx, **lie})
        page.click(f"{NOTE} button.claim-misattested")
        page.wait_for_selector(f"{NOTE} p.error[data-code=tx_mismatch]")
        assert wallet.sent == [], lie
        page.unroute(f"**{CLAIM}")
    assert court.misattestation(token).state is DisputeState.NONE

    before = world.balance(world.producer.address)
    page.click(f"{NOTE} button.claim-misattested")
    page.wait_for_selector(f"{NOTE} p.ok[data-tx]", timeout=30_000)
    assert len(wallet.sent) == 1
    assert page.get_attribute(f"{NOTE} p.ok", "data-tx") == wallet.sent[0]
    claim = court.misattestation(token)
    assert (claim.state, claim.claimant) == (DisputeState.OPEN, world.producer.address)
    assert before - world.balance(world.producer.address) >= deposit + fee
    page.wait_for_selector(f"{NOTE} p.claim-state[data-state=open]")
    page.wait_for_selector(f"{NOTE} button.finalize-misattested:visible")
    assert page.locator(f"{NOTE} button.claim-misattested:visible").count() == 0
    assert axe_violations(page) == []

    # too early: the court's CourtDisputeWindow, in words with the block, nothing sent
    page.click(f"{NOTE} button.finalize-misattested")
    page.wait_for_selector(f"{NOTE} p.error[data-code=CourtDisputeWindow]")
    assert len(wallet.sent) == 1

    key = committee.draw(_key(world, token))
    votes = honest_votes(committee, key, token, Images({token: png(copy)}))
    assert votes == [True] * 5
    committee.vote(key, votes)
    page.click(f"{NOTE} button.finalize-misattested")
    page.wait_for_selector(f"{NOTE} p.ok:has-text('Upheld')", timeout=30_000)
    assert len(wallet.sent) == 2
    assert world.registry(world.deployer).record(token).status is TokenStatus.REVOKED
    page.wait_for_selector(f"{NOTE} p.claim-state[data-state=upheld]")

    # the copy's own page says the claim's outcome (read from the chain)
    page.evaluate(f"() => {{ location.hash = '#/product/{token}'; }}")
    page.wait_for_selector("section.misattestation p.claim-state[data-state=upheld]")
    assert axe_violations(page) == []


def _key(world, token: int) -> bytes:
    from ledger.clients.committee import record_review_key

    claim = BatchCourtClient(world.deployment).misattestation(token)
    proof = record_of(world, token)
    return record_review_key(
        world.deployment.batch_court.address,
        token,
        proof.fingerprint,
        proof.detail_hash,
        claim.round,
    )
