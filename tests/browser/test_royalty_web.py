"""The producer's "Collect the royalty" button (the ``royalty_claimable`` alert) goes through the
SDK's checked ``collectRoyalty``: a lying API's withdrawal (one Ether on it, or sent to the
attacker) is tx_mismatch in the page and never reaches the wallet, and so is an alert whose lock
is not the one its ``lock_id`` names (bad_royalty_lock); the honest one withdraws the royalty to
the producer. Before, the button signed whatever transaction the API returned.
"""

from __future__ import annotations

import json

import pytest

from ledger import HtlcClient, LockStatus, LockTerms, RegistryClient
from services.exchange import buyer_claim_token, seller_claim_payment
from services.exchange.swap import CLAIM_MARGIN_BLOCKS
from tests.api._trading import PRICE, lock_token, sign_and_relay, start_trade
from tests.browser.conftest import axe_violations
from tests.browser.wallet import NodeBackedWallet
from tests.contracts.helpers import past_reclaim, register_esp, register_image

pytestmark = pytest.mark.browser

NOTE = "li[data-kind=royalty_claimable]"
ROYALTY_BPS = 500


def _royalty_left_open(site, *, token_claimed: bool = True) -> tuple[int, LockTerms, int, int]:
    """A resale whose buyer took the token without withdrawing the royalty lock: the producer's
    alert offers the collection (``token_claimed=False``: the seller has claimed the payment, the
    buyer not yet the token). Returns the royalty (wei), its lock, the trade's id and the token."""
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
    if token_claimed:
        buyer_claim_token(world.htlc(world.buyer), payment, offer.asset_lock)
    api.index()
    royalty_lock = LockTerms.from_json(buyer.get(f"/v1/trades/{trade['id']}")["royalty_lock"])
    return PRICE * ROYALTY_BPS // 10_000, royalty_lock, trade["id"], token


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
    royalty, _, _, _ = _royalty_left_open(site)
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


def _late_for(world, lock: LockTerms) -> tuple[int, int]:
    """Mines to one block too late to build ``lock``'s withdrawal (within five blocks of its
    claim window's end); its last claimable block and the head."""
    htlc = HtlcClient(world.deployment)
    last = htlc.lock_info(lock.id)[1] + htlc.claim_window()
    head = last - CLAIM_MARGIN_BLOCKS + 1
    world.chain.mine(head - world.chain.w3.eth.block_number)
    return last, head


def test_a_royalty_lock_near_the_end_of_its_claim_window_is_refused_in_words(site, browser):
    """Collected within five blocks of the royalty lock's claim window end, the API refuses the
    withdrawal (409 claim_window_closed, fields.last_claim_block): the page says so in words,
    with the window's last block, and that nothing was sent. Before, the alert showed the API's
    text behind its status and code ("409 claim_window_closed: ... not claiming (publishing
    the secret ...)": a seller's words, to a producer who holds no secret)."""
    world = site.api.world
    _, lock, _, _ = _royalty_left_open(site)
    last, head = _late_for(world, lock)
    wallet = NodeBackedWallet(world.producer, world.chain)
    page = browser.new_context().new_page()
    wallet.install(page)
    page.goto(site.url + "/#/me")
    page.click("#connect")
    page.wait_for_selector(f"{NOTE} button.royalty")
    page.click(f"{NOTE} button.royalty")
    error = page.wait_for_selector(f"{NOTE} p.error[data-code=claim_window_closed]")
    text = error.inner_text()
    assert f"ends at block {last} (the chain is at block {head})" in text, text
    assert "royalty" in text and "nothing was sent" in text, text
    assert "409" not in text and "claim_window_closed" not in text and "secret" not in text, text
    assert wallet.sent == []
    assert page.locator(f"{NOTE} button.royalty:visible").count() == 1  # the button stays
    assert axe_violations(page) == []


def test_the_buyers_royalty_release_near_its_claim_window_end_is_said_in_the_buyers_words(
    site, browser
):
    """The buyer's "Claim the token" withdraws the token (an ERC-721 lock: no claim window),
    then the royalty lock for the producer, which the API refuses near its window's end (409
    claim_window_closed). The page says the token is claimed and the royalty was not released,
    with the window's last block. Before, it showed the seller's words for the code ("... still
    reveals your secret ... you take the token back"), to the buyer who had just claimed it."""
    world = site.api.world
    _, lock, trade_id, token = _royalty_left_open(site, token_claimed=False)
    last, head = _late_for(world, lock)
    site.api.index()
    wallet = NodeBackedWallet(world.buyer, world.chain)
    page = browser.new_context().new_page()
    wallet.install(page)
    page.goto(site.url + f"/#/trade/{trade_id}")
    page.click("#connect")
    page.wait_for_selector("#claim-token")
    page.click("#claim-token")
    error = page.wait_for_selector("p.error[data-code=royalty_window_closed]")
    text = error.inner_text()
    assert text.startswith("Your token is claimed"), text
    # the head a block later: the token's withdrawal was mined first
    assert f"ends at block {last} (the chain is at block {head + 1})" in text, text
    assert "secret" not in text and "claim_window_closed" not in text, text
    assert len(wallet.sent) == 1  # the token's withdrawal only
    assert RegistryClient(world.deployment).owner_of(token) == world.buyer.address
    assert HtlcClient(world.deployment).status(lock) is LockStatus.OPEN  # the royalty: not sent
    assert axe_violations(page) == []
