"""Wallet flows in the browser (issue 15): sign-in through an injected EIP-1193 wallet, the
owner's defence from a plagiarism notification signed in the wallet, the ESP ranking as the API
computes it, and the wrong-network and rejected-signature cases in words.
"""

from __future__ import annotations

import json

import pytest

from ledger import TokenStatus
from ledger.clients.registry import DisputeState
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.wallet import NodeBackedWallet
from tests.contracts.helpers import BASE_FP, NEAR_FP, details, register_esp, register_image

pytestmark = pytest.mark.browser


def _page(browser, site, account):
    # node-backed: the notes' dispute steps run the SDK, which reads the chain through the wallet
    wallet = NodeBackedWallet(account, site.api.world.chain)
    context = browser.new_context()
    page = context.new_page()
    wallet.install(page)
    return page, wallet


def _signed_in(page, site, path="/#/me"):
    page.goto(site.url + path)
    page.click("#connect")
    page.wait_for_selector("text=Signed in as")


def test_a_lying_apis_challenge_is_refused_in_the_page_before_the_wallet(site, browser):
    """The note's prepared challenge goes through the SDK's checks: an API answer that carries
    ten deposits, or sends the deposit to another address, is tx_mismatch in the page and never
    reaches the wallet (the page used to sign whatever the API returned); the honest one is sent."""
    world = site.api.world
    register_esp(world)
    register_image(world, world.producer, fingerprint=BASE_FP)
    register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()["near"])
    site.api.index()
    page, wallet = _page(browser, site, world.producer)
    _signed_in(page, site)
    page.wait_for_selector("li[data-kind=plagiarism_suspected] button.challenge")
    deposit = world.registry(world.deployer).params().challenge_deposit

    def tampering(lie):
        def tamper(route):
            answer = route.fetch()
            route.fulfill(response=answer, body=json.dumps({**answer.json(), **lie}))

        return tamper

    for lie in ({"value": str(10 * deposit)}, {"to": world.attacker.address}):
        page.route("**/v1/tx/registry/challenge", tampering(lie))
        page.click("button.challenge")
        page.wait_for_selector("li[data-kind=plagiarism_suspected] p.error[data-code=tx_mismatch]")
        assert wallet.sent == [], lie
        page.unroute("**/v1/tx/registry/challenge")
    page.click("button.challenge")
    page.wait_for_selector("p.ok[data-tx]")
    assert len(wallet.sent) == 1 and page.get_attribute("p.ok", "data-tx") == wallet.sent[0]


def test_an_owner_signs_in_and_challenges_a_copy_from_the_notification(site, browser):
    world = site.api.world
    register_esp(world)
    original = register_image(world, world.producer, fingerprint=BASE_FP)
    copy = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()["near"])
    site.api.index()

    page, wallet = _page(browser, site, world.producer)
    _signed_in(page, site)
    assert {"eth_requestAccounts", "eth_chainId", "personal_sign"} <= set(wallet.calls)
    page.wait_for_selector("li[data-kind=plagiarism_suspected]")
    assert axe_violations(page) == []
    screenshot(page, "owner-alerts")
    page.click("button.challenge")
    page.wait_for_selector("p.ok[data-tx]")
    assert wallet.sent and page.get_attribute("p.ok", "data-tx") == wallet.sent[-1]
    # The challenge is on chain: the copy is under dispute, and revoked once the window passes.
    world.chain.mine(int(world.params.dispute_window_blocks) + 1)
    world.registry(world.producer).finalize(original, copy)
    assert world.registry(world.producer).record(copy).status is TokenStatus.REVOKED


def test_the_esp_ranking_shows_the_apis_numbers(site, browser):
    world = site.api.world
    register_esp(world)
    register_esp(world, world.buyer)
    api_view = site.api.client.get("/v1/esps").json()["items"]
    page = browser.new_page()
    page.goto(site.url + "/#/esps")
    page.wait_for_selector("tr[data-esp]")
    rows = page.eval_on_selector_all(
        "tr[data-esp]", "rs => rs.map(r => [r.dataset.esp, r.children[3].textContent])"
    )
    assert rows == [[e["address"], f"{100 * e['selection_probability']:.1f}%"] for e in api_view]
    assert axe_violations(page) == []


def test_a_wallet_on_the_wrong_network_is_told_and_can_switch(site, browser):
    world = site.api.world
    page, wallet = _page(browser, site, world.producer)
    wallet.chain_id = 1  # mainnet
    page.goto(site.url + "/#/me")
    page.click("#connect")
    page.wait_for_selector("p.error")
    assert page.get_attribute("p.error", "data-code") == "wrong_network"
    text = page.inner_text("p.error")
    assert "network 1" in text and str(world.chain.chain_id) in text
    assert "personal_sign" not in wallet.calls  # nothing signed for the wrong chain
    page.click("text=Switch network")
    assert wallet.chain_id == world.chain.chain_id
    page.click("#connect")
    page.wait_for_selector("text=Signed in as")


def test_a_rejected_signature_is_a_sentence_and_signs_nothing_in(site, browser):
    world = site.api.world
    page, wallet = _page(browser, site, world.producer)
    wallet.reject.add("personal_sign")
    page.goto(site.url + "/#/me")
    page.click("#connect")
    page.wait_for_selector("p.error")
    assert page.get_attribute("p.error", "data-code") == "rejected"
    assert "rejected" in page.inner_text("p.error")
    assert page.locator("text=Signed in as").count() == 0
    wallet.reject.clear()
    page.click("#connect")
    page.wait_for_selector("text=Signed in as")


def test_a_page_without_any_wallet_says_so(site, browser):
    page = browser.new_page()
    page.goto(site.url + "/#/me")
    page.click("#connect")
    page.wait_for_selector("p.error")
    assert page.get_attribute("p.error", "data-code") == "no_wallet"


def _resolve_without_estimate(world, account, original: int, duplicate: int) -> None:
    reader = world.registry(account)
    a, b = reader.registered(original), reader.registered(duplicate)
    call = reader.resolve_call(original, duplicate, (a.proof, b.proof), (a.detail, b.detail))
    w3 = world.chain.w3
    tx = call.fn.build_transaction(
        {
            "from": account.address,
            "gas": 25_000_000,
            "nonce": w3.eth.get_transaction_count(account.address),
            "chainId": world.chain.chain_id,
        }
    )
    sent = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    assert w3.eth.wait_for_transaction_receipt(sent)["status"] == 1


def _challenged(site, browser):
    """A challenge of the buyer's token, its notification on the buyer's signed-in page."""
    world = site.api.world
    register_esp(world)
    original = register_image(world, world.producer, fingerprint=BASE_FP)
    other = register_image(world, world.buyer, fingerprint=NEAR_FP, detail=details()["far"])
    world.registry(world.producer).challenge(original, other)
    site.api.index()
    page, wallet = _page(browser, site, world.buyer)
    _signed_in(page, site)
    page.wait_for_selector("li[data-kind=challenge_opened] button.contest")
    return world, page, wallet, (original, other)


def test_an_accused_owner_contests_from_the_notification_and_sees_the_verdict(site, browser):
    """A false compact match (a different image whose fingerprint is near): the accused sees
    `challenge_opened`, rejects the contest in the wallet (nothing sent), then contests with one
    click (the API prepares the transaction), and the page shows the verdict the contract
    reached."""
    world, page, wallet, (original, other) = _challenged(site, browser)
    assert axe_violations(page) == []
    wallet.reject.add("eth_sendTransaction")  # first the person rejects it in the wallet
    page.click("button.contest")
    page.wait_for_selector("li[data-kind=challenge_opened] p.error[data-code=rejected]")
    assert wallet.sent == []
    assert world.registry(world.buyer).dispute(original, other).state is DisputeState.OPEN
    wallet.reject.clear()
    page.click("button.contest")
    page.wait_for_selector("p.ok[data-tx]")
    assert page.get_attribute("p.ok", "data-tx") == wallet.sent[-1]
    registry = world.registry(world.buyer)
    assert registry.dispute(original, other).state is DisputeState.CONTESTED
    # Anyone may ask the contract to decide (the page offers the button); here a third party
    # does, with a fixed gas limit: py-evm would run the detail comparison ~25 times to estimate.
    assert page.locator("button.resolve:visible").count() == 1
    _resolve_without_estimate(world, world.attacker, original, other)
    assert registry.dispute(original, other).state is DisputeState.REJECTED
    site.api.index()  # the page follows the product's history until the verdict is indexed
    page.wait_for_selector("li[data-kind=challenge_opened] p.verdict[data-verdict=rejected]")
    assert "Rejected" in page.inner_text("p.verdict")
    assert page.locator("button.contest:visible, button.resolve:visible").count() == 0
    assert registry.record(other).status is TokenStatus.ACTIVE
    screenshot(page, "owner-verdict")


# The committee's review before the contest (stage 3: request, draw and its retries, the lying
# API's review transactions) runs on a real CommitteeVerifier in test_committee_review_web.py.


def test_a_note_naming_a_step_the_page_cannot_check_is_refused_before_the_wallet(site, browser):
    """The note's prepared step names its API route: a lying API that names another route (here
    an Ether lock of 1 ETH to the attacker) had the page sign whatever that route returned (the
    unchecked fallback, sendPrepared: failed before, the lock was sent). Only the dispute routes
    the SDK checks are sent now, and only the step the button names (a challenge button does not
    pay a committee's review fee either): any other is tx_mismatch, nothing reaches the wallet."""
    world = site.api.world
    register_esp(world)
    original = register_image(world, world.producer, fingerprint=BASE_FP)
    copy = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()["near"])
    site.api.index()
    page, wallet = _page(browser, site, world.producer)
    ether_lock = {
        "endpoint": "/v1/tx/locks/ether",
        "body": {
            "receiver": world.attacker.address,
            "amount": str(10**18),
            "hashlock": "0x" + "11" * 32,
            "timelock": str(world.chain.timestamp() + 86_400),
        },
    }
    review = {
        "endpoint": "/v1/tx/review/request",
        "body": {"original": str(original), "duplicate": str(copy)},
    }
    lie: dict = {}

    def lying_notes(route):
        notes = route.fetch().json()
        for n in notes["items"]:
            if n["kind"] == "plagiarism_suspected":
                n["prepared_challenge"] = {"action": "challenge", **lie}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(notes))

    page.route("**/v1/notifications", lying_notes)
    for i, step in enumerate((ether_lock, review)):
        lie.clear()
        lie.update(step)
        if i == 0:
            _signed_in(page, site)
        else:  # the session lives in memory: the alerts again without a reload
            page.evaluate("() => { location.hash = '#/'; }")
            page.wait_for_selector("h1:text('Gallery')")
            page.evaluate("() => { location.hash = '#/me'; }")
        page.wait_for_selector("li[data-kind=plagiarism_suspected] button.challenge")
        page.click("button.challenge")
        page.wait_for_selector("li[data-kind=plagiarism_suspected] p.error[data-code=tx_mismatch]")
        assert wallet.sent == [], step["endpoint"]
