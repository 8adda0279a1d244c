"""A fresh token's resale form (My collection) says when the token can be sold: the Registry's
escrow refuses it for ``registrationWindow + commitTtl`` blocks after its reveal
(``RegistryTokenReclaimable``; the API's 409 ``token_reclaimable``), while an earlier payer of its
ESP could still reclaim it from a buyer. The page named neither the block nor how long; it now
says the block, the blocks left and about how long (12 s a block)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import axe_violations
from tests.browser.wallet import NodeBackedWallet
from tests.contracts.helpers import register_esp, register_image

pytestmark = pytest.mark.browser


def test_a_fresh_tokens_listing_says_until_which_block_and_about_how_long(site, browser):
    world = site.api.world
    register_esp(world)
    token = register_image(world, world.producer)
    site.api.index()
    until = site.api.client.get(f"/v1/products/{token}").json()["reclaimable_until"]
    head = world.chain.w3.eth.block_number
    assert until > head
    wallet = NodeBackedWallet(world.producer, world.chain)
    page = browser.new_context().new_page()
    wallet.install(page)
    page.goto(site.url + "/#/me")
    page.click("#connect")
    form = page.locator(f"form.resell[data-token='{token}']")
    form.locator("input[name=price]").fill("0.01")
    form.locator("button[type=submit]").click()
    error = page.locator("p.error[data-code=token_reclaimable][data-blocks]")
    error.wait_for()
    blocks = until - head
    assert error.get_attribute("data-until") == str(until)
    assert error.get_attribute("data-blocks") == str(blocks)
    text = error.inner_text()
    assert f"until block {until}, {blocks} blocks from now (about " in text, text
    assert "reclaim" in text and "{" not in text
    assert wallet.sent == [] and "eth_signTypedData_v4" in wallet.calls  # signed, never listed
    assert axe_violations(page) == []


def test_a_fresh_tokens_page_says_how_long_until_it_can_be_sold(site, browser):
    world = site.api.world
    register_esp(world)
    token = register_image(world, world.producer)
    site.api.index()
    until = site.api.client.get(f"/v1/products/{token}").json()["reclaimable_until"]
    blocks = until - world.chain.w3.eth.block_number
    page = browser.new_page()
    page.goto(f"{site.url}/#/product/{token}")
    hold = page.locator(f"span.reclaimable[data-until='{until}'][data-blocks='{blocks}']")
    hold.wait_for()
    assert f"until block {until}, {blocks} blocks from now (about " in hold.inner_text()
