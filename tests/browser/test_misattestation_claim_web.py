"""A buyer without a wallet sees that a listed token is under a mis-attestation claim, and is
offered no buy button while the claim is open; the page shows the claim's outcome once decided.

Before, the product page read the claim from the chain only through a connected wallet
(``misattestationOf``): a visitor browsing the market saw the listed copy "For sale" with a
Buy button while the jurors were reviewing it, and the court revoked it days later in the
buyer's hands. Now the page says what the API indexed (``misattestation`` of GET
/v1/products/{id}), and the API refuses the sale (409 ``misattestation_claim_open``:
tests/api/test_misattestation_claims.py)."""

from __future__ import annotations

import pytest

from ledger.clients.registry import DisputeState
from services.provenance import detail_descriptor, fingerprint
from tests.api._trading import list_token
from tests.browser.conftest import axe_violations
from tests.contracts.helpers import register_esp
from tests.contracts.misattestation_kit import (
    Images,
    camera,
    claim,
    copy_of,
    finalize,
    honest_votes,
    png,
    register_pixels,
    unrelated,
)

pytestmark = pytest.mark.browser

LINE = "section.misattestation p.claim-state"


def test_a_visitor_without_a_wallet_sees_the_open_claim_and_no_buy_button(committee_site, browser):
    site, committee = committee_site
    world = committee.world
    committee.producer_esp()
    copy = copy_of(camera())
    token = register_pixels(
        world,
        world.attacker,
        copy,
        esp=register_esp(world, world.accounts[8]),
        fingerprint=fingerprint(unrelated()).to_bytes32(),
        detail=detail_descriptor(unrelated()),
    )
    committee.enroll(5)
    list_token(site.api, world.attacker, token)
    site.api.index()
    page = browser.new_context().new_page()  # no wallet: nothing injected
    page.goto(f"{site.url}/#/product/{token}")
    page.wait_for_selector("#buy")  # listed, no claim yet
    assert page.locator(LINE).count() == 0 or not page.locator(LINE).is_visible()

    key = claim(committee, token, world.producer)
    site.api.index()
    deadline = committee.committee().review(key).reveal_deadline
    page.reload()
    line = page.locator(f"{LINE}[data-state=open][data-source=index]")
    line.wait_for()
    text = line.inner_text()
    assert "open (claim 1, by " in text and f"after block {deadline}" in text, text
    page.wait_for_selector("p.not-for-sale[data-code=misattestation_claim_open]")
    assert page.locator("#buy").count() == 0
    assert axe_violations(page) == []

    committee.vote(key, honest_votes(committee, key, token, Images({token: png(copy)})))
    assert finalize(committee, token, world.producer) is DisputeState.UPHELD
    site.api.index()
    page.reload()
    page.wait_for_selector(f"{LINE}[data-state=upheld][data-source=index]")
    assert "revoked" in page.inner_text(LINE)
    assert page.locator("#buy").count() == 0
    assert page.locator("p.not-for-sale").count() == 0
    assert axe_violations(page) == []
