"""Buying and reselling in the browser (issue 15, consumer): a second browser context buys the
producer's listed token through the hash-time-locked swap, each side acting in its own page and
wallet, each step shown as the indexer sees it; the buyer resells it from "My collection" and the
resale pays the producer's ERC-2981 royalty (asserted on chain balances and the trade record).
"""

from __future__ import annotations

import pytest

from ledger import RegistryClient
from tests.api._trading import list_token
from tests.api.test_products import _picture, _png, _register_picture
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.wallet import NodeBackedWallet
from tests.contracts.helpers import register_esp

pytestmark = pytest.mark.browser

PRICE = 5 * 10**16  # 0.05 ETH
RESALE = 8 * 10**16  # 0.08 ETH


def _party(browser, site, account, path, **context):
    """A browser context of its own (cookies, storage, wallet) for ``account``, signed in."""
    wallet = NodeBackedWallet(account, site.api.world.chain)
    page = browser.new_context(**context).new_page()
    wallet.install(page)
    page.goto(site.url + path)
    page.click("#connect")
    page.wait_for_selector("text=Signed in as")
    return page, wallet


def _overflow(page) -> int:
    """Pixels of horizontal scroll (0 or less: the page fits the screen's width)."""
    return int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))


def _go(page, fragment: str) -> None:
    """Moves the page to ``fragment`` in the same document (the session lives in memory)."""
    if page.evaluate("() => location.hash") == fragment:
        page.evaluate("() => { location.hash = '#/'; }")
        page.wait_for_selector("h1:text('Gallery')")
    page.evaluate(f"() => {{ location.hash = '{fragment}'; }}")


def _until(site, pages, selector_on: tuple, rounds: int = 200) -> None:
    """Indexes the chain while the pages refresh, until ``selector_on = (page, selector)``
    shows; any error shown on any page fails with its words."""
    page, selector = selector_on
    for _ in range(rounds):
        for p in pages:
            errors = p.locator("p.error")
            assert errors.count() == 0, errors.first.inner_text()
        if page.locator(selector).count():
            return
        site.api.index()
        page.wait_for_timeout(150)
    raise AssertionError(f"{selector} never showed")


def _swap(site, seller_page, buyer_page, intruder=None) -> int:
    """The buyer, on the product page, buys; both sides take their steps; returns the trade id.
    ``intruder`` (browser, account), when given, first tries to open the trade."""
    pages = (seller_page, buyer_page)
    buyer_page.click("#buy")
    buyer_page.wait_for_function("() => /^#\\/trade\\/\\d+$/.test(location.hash)")
    trade_id = int(buyer_page.evaluate("() => location.hash.split('/').pop()"))
    buyer_page.wait_for_selector("ol.steps[data-status=requested]")
    if intruder is not None:  # someone else's trade: the API's 403 in words, and a 404
        page, _ = _party(intruder[0], site, intruder[1], f"/#/trade/{trade_id}")
        page.wait_for_selector("p.error")
        assert page.get_attribute("p.error", "data-code") == "forbidden"
        assert "Only the trade's buyer and seller" in page.inner_text("p.error")
        assert "{" not in page.inner_text("main")
        _go(page, "#/trade/999999")
        page.wait_for_selector("p.error[data-code=not_found]")
        page.context.close()

    _go(seller_page, "#/me")  # the seller learns of the request in My trades
    seller_page.wait_for_selector(f"li[data-trade='{trade_id}'] a")
    seller_page.click(f"li[data-trade='{trade_id}'] a")
    seller_page.click("#lock-token")
    seller_page.wait_for_selector("[data-step-done=lock-token]")
    _until(site, pages, (buyer_page, "#pay-trade"))
    buyer_page.wait_for_selector("ol.steps li.done[data-step=asset_locked]")
    buyer_page.click("#pay-trade")
    buyer_page.wait_for_selector("[data-step-done=pay-trade]")
    _until(site, pages, (seller_page, "#claim-payment"))
    seller_page.click("#claim-payment")
    seller_page.wait_for_selector("[data-step-done=claim-payment]")
    _until(site, pages, (buyer_page, "#claim-token"))
    buyer_page.click("#claim-token")
    buyer_page.wait_for_selector("[data-step-done=claim-token]")
    _until(site, pages, (buyer_page, "p.ok[data-done]"))
    return trade_id


def test_a_buyer_buys_through_the_swap_then_resells_and_the_resale_pays_the_royalty(site, browser):
    world = site.api.world
    w3 = world.chain.w3
    register_esp(world)
    img = _picture(21)
    token_hex = _register_picture(world, world.producer, img)
    token = int(token_hex, 16)
    site.api.index()
    files = {"image": ("x.png", _png(img), "image/png")}
    r = site.api.client.put(
        f"/v1/products/{token_hex}/image", files=files, headers=site.api.sign_in(world.producer)
    )
    assert r.status_code == 200, r.text
    list_token(site.api, world.producer, token, price=PRICE)  # listed (the studio test lists too)

    # The first sale: the producer sells to the buyer, each in a browser context of their own.
    seller, _ = _party(browser, site, world.producer, "/#/")
    buyer, buyer_wallet = _party(browser, site, world.buyer, f"/#/product/{token}")
    buyer.wait_for_selector("#buy")
    buyer_wallet.chain_id = 1  # the wallet moved to mainnet: told, nothing asked of the API
    buyer.click("#buy")
    buyer.wait_for_selector("p.error[data-code=wrong_network]")
    assert (
        site.api.client.get("/v1/me/trades", headers=site.api.sign_in(world.buyer)).json()["items"]
        == []
    )
    buyer_wallet.chain_id = world.chain.chain_id
    assert "For sale: 0.05 ETH" in buyer.inner_text("main")
    assert axe_violations(buyer) == []
    screenshot(buyer, "product-for-sale")
    _go(seller, f"#/product/{token}")  # the seller's own listing: a note, no buy button
    seller.wait_for_selector("text=This is your listing.")
    assert seller.locator("#buy").count() == 0
    producer_before = w3.eth.get_balance(world.producer.address)
    first = _swap(site, seller, buyer, intruder=(browser, world.attacker))
    assert axe_violations(buyer) == []
    screenshot(buyer, "trade-completed")
    registry = RegistryClient(world.deployment)
    assert registry.owner_of(token) == world.buyer.address
    record = site.api.client.get(
        f"/v1/trades/{first}", headers=site.api.sign_in(world.buyer)
    ).json()
    assert record["status"] == "completed" and record["royalty_lock"] is None  # a primary sale
    # The seller paid gas for its own steps, so its balance rose by the price less that gas.
    assert 0 < w3.eth.get_balance(world.producer.address) - producer_before <= PRICE

    # The resale: the buyer lists from My collection; a collector buys; the royalty goes to the
    # producer, who takes no step at all.
    _go(buyer, "#/me")
    form = f"form.resell[data-token='{token}']"
    buyer.wait_for_selector(form)
    assert axe_violations(buyer) == []
    screenshot(buyer, "my-collection")
    buyer.fill(f"{form} input[name=price]", "0.05")
    buyer.click(f"{form} button")
    buyer.wait_for_selector("text=goes to the original producer as royalty")
    # Listed: the collection shows it, and the seller can withdraw it and list again.
    _go(buyer, "#/me")
    buyer.wait_for_selector("div.resell[data-listing] >> text=Listed for 0.05 ETH")
    withdrawn = int(buyer.get_attribute("div.resell[data-listing]", "data-listing"))
    buyer.click("button.withdraw")
    buyer.wait_for_selector(form)
    assert site.api.client.get(f"/v1/listings/{withdrawn}").json()["status"] == "cancelled"
    buyer.fill(f"{form} input[name=price]", "0.08")
    buyer.click(f"{form} button")
    buyer.wait_for_selector("text=goes to the original producer as royalty")
    collector_account = world.accounts[5]
    phone = {"viewport": {"width": 375, "height": 740}, "is_mobile": True}
    collector, _ = _party(browser, site, collector_account, f"/#/product/{token}", **phone)
    collector.wait_for_selector("#buy")
    assert _overflow(collector) <= 0  # the collector buys on a phone
    producer_before = w3.eth.get_balance(world.producer.address)
    # The Registry refuses the token's return to the escrow within commitTtl + 1 blocks of its
    # release (RegistryRelistTooSoon, d10c3fc): the seller waits them out (mined here).
    world.chain.mine(registry.params().commit_ttl + 2)
    second = _swap(site, buyer, collector)
    assert registry.owner_of(token) == collector_account.address
    receiver, royalty = registry.royalty_info(token, RESALE)
    assert receiver == world.producer.address and 0 < royalty < RESALE
    assert w3.eth.get_balance(world.producer.address) - producer_before == royalty
    record = site.api.client.get(
        f"/v1/trades/{second}", headers=site.api.sign_in(collector_account)
    ).json()
    assert record["status"] == "completed"
    assert record["royalty_lock"]["receiver"] == world.producer.address
    assert int(record["royalty_lock"]["amount"]) == royalty
    assert int(record["payment_lock"]["amount"]) == RESALE - royalty
    assert "Royalty lock" in collector.inner_text("ul.terms")
    assert _overflow(collector) <= 0
    _go(collector, "#/me")
    collector.wait_for_selector(f"form.resell[data-token='{token}']")
    assert _overflow(collector) <= 0
