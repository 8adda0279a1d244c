"""Red team 3 in the browser: a wallet that switches accounts or networks after sign-in, and
strings anyone can put on chain (an ESP's endpoint) rendered by the pages.

A real Chromium drives the page; the injected EIP-1193 test wallet (tests/browser/wallet.py)
signs with a dev key; :data:`EMITTER` lets a test fire the provider's events as a wallet does
when the person picks another account or network in it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from tests.browser.wallet import TestWallet
from tests.contracts.helpers import ESP_STAKE, FEE

pytestmark = pytest.mark.browser

# Runs after the test wallet's own init script: keeps the page's listeners so that the test can
# fire `accountsChanged` / `chainChanged` (EIP-1193 events) as a wallet does.
EMITTER = """
(() => {
  const heard = {};
  const on = window.ethereum.on.bind(window.ethereum);
  window.ethereum.on = (event, fn) => { (heard[event] ||= []).push(fn); on(event, fn); };
  window.__walletEmit = (event, arg) => (heard[event] || []).forEach((fn) => fn(arg));
})();
"""


def _page(browser: Any, site: Any, account: Any) -> tuple[Any, TestWallet]:
    wallet = TestWallet(account, site.api.world.chain)
    page = browser.new_context().new_page()
    wallet.install(page)
    page.add_init_script(EMITTER)
    return page, wallet


def _signed_in(page: Any, site: Any, path: str = "/#/me") -> None:
    page.goto(site.url + path)
    page.click("#connect")
    page.wait_for_selector("text=Signed in as")


def _emit(page: Any, event: str, arg: Any) -> None:
    page.evaluate(f"window.__walletEmit({json.dumps(event)}, {json.dumps(arg)})")


def test_a_wallet_switched_to_another_account_signs_the_page_out(site, browser):
    """Signed in as the producer, the person picks another account in the wallet: the page kept
    the producer's session and went on showing (and signing for) the producer before."""
    world = site.api.world
    page, _wallet = _page(browser, site, world.producer)
    _signed_in(page, site)
    _emit(page, "accountsChanged", [world.buyer.address.lower()])
    page.wait_for_selector("p.error[data-code=account_changed]")
    assert page.locator("#wallet >> text=Signed in as").count() == 0
    assert page.locator("#connect").count() == 1
    assert "signed out" in page.inner_text("p.error[data-code=account_changed]")
    # the same account again (a wallet re-announcing it) changes nothing
    _signed_in(page, site)
    _emit(page, "accountsChanged", [world.producer.address])
    page.wait_for_timeout(200)
    assert page.locator("#wallet >> text=Signed in as").count() == 1


def test_a_wallet_switched_to_another_network_is_told_at_once(site, browser):
    """Signed in, the person switches the wallet to mainnet: nothing said before until a
    transaction failed (or, with a wallet that does not check, went out on mainnet)."""
    world = site.api.world
    page, wallet = _page(browser, site, world.producer)
    _signed_in(page, site)
    wallet.chain_id = 1
    _emit(page, "chainChanged", "0x1")
    page.wait_for_selector("p.error[data-code=wrong_network]")
    assert str(world.chain.chain_id) in page.inner_text("p.error[data-code=wrong_network]")
    page.click("text=Switch network")
    assert wallet.chain_id == world.chain.chain_id
    _emit(page, "chainChanged", hex(world.chain.chain_id))
    page.wait_for_selector("p.error[data-code=wrong_network]", state="detached")
    assert page.locator("#wallet >> text=Signed in as").count() == 1


def test_an_esps_endpoint_is_shown_as_text_never_run_as_markup(site, browser):
    """An ESP's endpoint is any string its owner registers on chain; the ranking and the ESP's
    dashboard show it; a crafted product link's id comes back in the API's error message. Guard
    (no hole found): every page builds its nodes with text, so markup in them is shown, not run."""
    world = site.api.world
    payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    world.esps(world.esp).register(payload, price=FEE, stake=ESP_STAKE)
    site.api.index()
    page = browser.new_page()
    for path in ("/#/esps", f"/#/esp/{world.esp.address}"):
        page.goto(site.url + path)
        page.wait_for_function(
            "p => document.querySelector('main').textContent.includes(p)", arg=payload
        )
        assert page.evaluate("window.__xss") is None, path
        assert page.locator("main img[src=x]").count() == 0, path
    # a crafted link: the id in the URL reaches the API and its error message comes back
    page.goto(site.url + "/#/product/" + quote(payload, safe=""))
    page.wait_for_selector("p.error")
    assert page.evaluate("window.__xss") is None
    assert page.locator("main img[src=x]").count() == 0
