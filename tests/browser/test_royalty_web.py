"""The producer's "Collect the royalty" button (the ``royalty_claimable`` alert) goes through the
SDK's checked ``collectRoyalty``: a lying API's withdrawal (one Ether on it, or sent to the
attacker) is tx_mismatch in the page and never reaches the wallet, and so is an alert whose lock
is not the one its ``lock_id`` names (bad_royalty_lock); the honest one withdraws the royalty to
the producer. Before, the button signed whatever transaction the API returned.
"""

from __future__ import annotations

import json

import pytest

from ledger import LockTerms
from services.exchange import buyer_claim_token, seller_claim_payment
from tests.api._trading import PRICE, lock_token, sign_and_relay, start_trade
from tests.browser.conftest import axe_violations
from tests.browser.wallet import NodeBackedWallet
from tests.contracts.helpers import past_reclaim, register_esp, register_image

pytestmark = pytest.mark.browser

NOTE = "li[data-kind=royalty_claimable]"
ROYALTY_BPS = 500


def _royalty_left_open(site) -> int:
    """A resale whose buyer took the token without withdrawing the royalty lock: the producer's
    alert offers the collection. Returns the royalty (wei)."""
    api = site.api
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    past_reclaim(world)  # the Registry holds a fresh token (RegistryTokenReclaimable)
    world.registry(world.producer).transfer(world.attacker.address, token)  # resold by attacker
    _, trade, buyer = start_trade(api, world.attacker, world.buyer, token)
    offer = lock_token(api, world.attacker, world.buyer, token)
    api.index()
    for leg in buyer.post(f"/v1/trades/{trade['id']}/payment-tx", json={})["locks"]:
        sign_and_relay(api, world.buyer, leg["tx"])
    api.index()
    payment = LockTerms.from_json(buyer.get(f"/v1/trades/{trade['id']}")["payment_lock"])
    seller_claim_payment(world.htlc(world.attacker), payment, offer, price=PRICE)
    buyer_claim_token(world.htlc(world.buyer), payment, offer.asset_lock)
    api.index()
    return PRICE * ROYALTY_BPS // 10_000


def _tamper(page, path: str, change) -> None:
    def handle(route):
        answer = route.fetch()
        route.fulfill(response=answer, body=json.dumps(change(answer.json())))

    page.route(f"**{path}", handle)


def _lying_note(notes: dict) -> dict:
    """The royalty alert naming another lock id than its lock's (the API's word on which lock)."""
    for n in notes["items"]:
        if n["kind"] == "royalty_claimable":
            n["lock_id"] = "0x" + "77" * 32
    return notes


def test_a_lying_apis_royalty_withdrawal_is_refused_in_the_page_before_the_wallet(site, browser):
    world = site.api.world
    royalty = _royalty_left_open(site)
    wallet = NodeBackedWallet(world.producer, world.chain)
    page = browser.new_context().new_page()
    wallet.install(page)
    _tamper(page, "/v1/notifications", _lying_note)
    page.goto(site.url + "/#/me")
    page.click("#connect")
    page.wait_for_selector(f"{NOTE} button.royalty")
    page.click(f"{NOTE} button.royalty")
    page.wait_for_selector(f"{NOTE} p.error[data-code=bad_royalty_lock]")
    assert wallet.sent == []
    page.unroute("**/v1/notifications")
    page.evaluate("() => { location.hash = '#/'; }")  # the session lives in memory: no reload
    page.wait_for_selector("h1:text('Gallery')")
    page.evaluate("() => { location.hash = '#/me'; }")
    page.wait_for_selector(f"{NOTE} button.royalty")
    for lie in ({"value": str(10**18)}, {"to": world.attacker.address}):
        _tamper(page, "/v1/tx/locks/withdraw", lambda tx, lie=lie: {**tx, **lie})
        page.click(f"{NOTE} button.royalty")
        page.wait_for_selector(f"{NOTE} p.error[data-code=tx_mismatch]")
        assert wallet.sent == [], lie
        page.unroute("**/v1/tx/locks/withdraw")
    before = world.balance(world.producer.address)
    page.click(f"{NOTE} button.royalty")
    page.wait_for_selector(f"{NOTE} p.ok[data-tx]")
    assert len(wallet.sent) == 1 and page.get_attribute(f"{NOTE} p.ok", "data-tx") == wallet.sent[0]
    gas_paid = before + royalty - world.balance(world.producer.address)
    assert 0 < gas_paid < royalty  # the royalty arrived, less the withdrawal's own gas
    assert page.locator(f"{NOTE} button.royalty:visible").count() == 0
    assert axe_violations(page) == []
