"""The token page's two BatchCourt steps that only the API and the SDK reached
(POST /v1/tx/batch/court/reinstate and /duplicate-item): a single token revoked by a settled
court win whose batched winner was revoked since offers "Reinstate this token"; an active batch
item offers the court's ruling on a second batch item of its image. Both run the SDK in the page,
which checks the API's transaction before the wallet is asked: a tampered answer (ten bonds) is
refused there, and nothing is signed."""

from __future__ import annotations

import json

import pytest

from ledger.clients.registry import DisputeState, TokenStatus
from tests.api.test_court_new_routes import _image_batched_for_two_payers, _publish
from tests.browser.conftest import axe_violations
from tests.browser.wallet import NodeBackedWallet
from tests.contracts.test_court_duplicate_image import _batched_status
from tests.contracts.test_redteam3_reinstate import _court_win_settled_then_winner_revoked

pytestmark = pytest.mark.browser


def _signed_in_page(browser, site, account):
    wallet = NodeBackedWallet(account, site.api.world.chain)
    page = browser.new_context().new_page()
    wallet.install(page)
    page.goto(site.url + "/#/me")
    page.click("#connect")
    page.wait_for_selector("text=Signed in as")
    return page, wallet


def test_a_settled_court_win_whose_winner_was_revoked_is_reversed_on_the_token_page(site, browser):
    world = site.api.world
    x, s, court = _court_win_settled_then_winner_revoked(world)
    site.api.index()
    page, wallet = _signed_in_page(browser, site, world.buyer)
    page.goto(f"{site.url}/#/product/{s}")
    page.wait_for_selector("section.court-reinstate button.reinstate")
    assert axe_violations(page) == []
    bond = world.registry(world.deployer).params().bond

    # A lying API asks ten bonds: the SDK refuses before the wallet is asked.
    def ten_bonds(route):
        answer = route.fetch()
        tx = answer.json()
        assert int(tx["value"]) == bond
        route.fulfill(response=answer, body=json.dumps({**tx, "value": str(bond * 10)}))

    page.route("**/v1/tx/batch/court/reinstate", ten_bonds)
    page.click("button.reinstate")
    page.wait_for_selector("section.court-reinstate p.error[data-code=tx_mismatch]")
    assert wallet.sent == []
    assert world.registry(world.deployer).record(s).status is TokenStatus.REVOKED
    page.unroute("**/v1/tx/batch/court/reinstate")
    # The honest answer: reinstate(X, S) to the court with exactly the bond.
    page.click("button.reinstate")
    page.wait_for_selector("section.court-reinstate p.ok[data-tx]")
    assert len(wallet.sent) == 1, wallet.errors
    assert world.registry(world.deployer).record(s).status is TokenStatus.ACTIVE
    assert court.dispute(x, s).state is DisputeState.REVERSED
    # Once reversed, the page offers nothing more.
    site.api.index()
    page.goto(f"{site.url}/#/product/{x}")
    page.goto(f"{site.url}/#/product/{s}")
    page.wait_for_selector("text=Provenance")
    assert page.locator("button.reinstate").count() == 0


def test_a_standing_court_win_offers_no_reinstatement(site, browser):
    from tests.contracts.test_redteam3_reinstate import _court_win_settled

    world = site.api.world
    _, _, _, _, s, _ = _court_win_settled(world)
    site.api.index()
    page, _ = _signed_in_page(browser, site, world.buyer)
    page.goto(f"{site.url}/#/product/{s}")
    page.wait_for_selector("text=Provenance")
    page.wait_for_load_state("networkidle")
    assert page.locator("button.reinstate").count() == 0


def test_two_batch_items_of_one_image_are_ruled_from_the_item_page(site, browser):
    world = site.api.world
    own, p_own, taken, p_taken = _image_batched_for_two_payers(site.api)
    _publish(site.api, own, p_own)
    _publish(site.api, taken, p_taken)
    page, wallet = _signed_in_page(browser, site, world.buyer)  # anyone may ask
    page.goto(f"{site.url}/#/product/{own}")
    page.wait_for_selector("details.court-twin-box")
    page.click("details.court-twin-box summary")
    assert axe_violations(page) == []
    page.fill("form.court-twin input[name=second]", hex(taken))
    page.click("button.ruling-item")
    page.wait_for_selector("form.court-twin p.ok[data-tx]")
    assert len(wallet.sent) == 1, wallet.errors
    assert "revoked as the second registration" in page.inner_text("form.court-twin p.ok")
    assert _batched_status(world, taken) is TokenStatus.REVOKED  # the later lock's
    assert _batched_status(world, own) is TokenStatus.ACTIVE
    # The same ruling again: the court's refusal in words, nothing more signed.
    page.goto(f"{site.url}/#/")  # a hash change: the session (in memory) stays
    page.goto(f"{site.url}/#/product/{own}")
    page.wait_for_selector("details.court-twin-box")
    page.click("details.court-twin-box summary")
    page.fill("form.court-twin input[name=second]", str(taken))
    page.click("button.ruling-item")
    page.wait_for_selector("form.court-twin p.error")
    assert page.get_attribute("form.court-twin p.error", "data-code") in (
        "CourtTokenRevoked",
        "unknown_product",
    )
    assert len(wallet.sent) == 1
