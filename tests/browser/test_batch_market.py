"""A batched item (a BatchRegistry token, issue 16) listed from "My collection" and bought on its
product page, through the same swap pages as a single registration: the offer is signed under the
BatchRegistry's domain, the seller's wallet approves and locks the BatchRegistry's token, and the
buyer ends up owning it on chain.
"""

from __future__ import annotations

import pytest

from ledger.clients.batch_registry import BatchRegistryClient
from tests.browser.test_market import _go, _party, _swap
from tests.contracts.batch_kit import register_batch, tid
from tests.contracts.helpers import past_reclaim, register_esp

pytestmark = pytest.mark.browser


def test_a_batched_item_is_listed_and_bought_in_the_browser(site, browser):
    world = site.api.world
    register_esp(world)
    batch_id, _ = register_batch(world, world.producer, n=2)
    token = tid(batch_id, 1)
    past_reclaim(world)  # a fresh item does not move (BatchTokenReclaimable)
    site.api.index()
    batch = world.deployment.batch_registry.address

    seller, _ = _party(browser, site, world.producer, "/#/")
    _go(seller, "#/me")
    form = f"form.resell[data-token='{token}']"
    seller.wait_for_selector(form)
    seller.fill(f"{form} input[name=price]", "0.05")
    seller.click(f"{form} button")
    seller.wait_for_selector("text=Listed for 0.05 ETH")
    (listing,) = site.api.client.get("/v1/listings", params={"token_id": str(token)}).json()[
        "items"
    ]
    assert listing["collection"] == batch

    buyer, _ = _party(browser, site, world.buyer, f"/#/product/{token}")
    buyer.wait_for_selector("#buy")
    trade_id = _swap(site, seller, buyer)
    assert buyer.get_attribute("p[data-collection]", "data-collection") == "batch"
    assert BatchRegistryClient(world.deployment).owner_of(token) == world.buyer.address
    record = site.api.client.get(
        f"/v1/trades/{trade_id}", headers=site.api.sign_in(world.buyer)
    ).json()
    assert (record["status"], record["collection"]) == ("completed", batch)
    assert record["asset_lock"]["token"] == batch
    assert site.api.client.get(f"/v1/listings/{listing['id']}").json()["status"] == "sold"
