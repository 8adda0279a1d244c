"""The web app's `duplicate_registration` notification: a producer who batched an image and then
registered it alone is told, in the browser, that its single token is the second registration,
and one click in the wallet has the BatchCourt revoke it (docs/batches.md, "One image, two
collections")."""

from __future__ import annotations

import json

import pytest
from eth_utils import keccak

from ledger import TokenStatus
from services.batch.layout import BatchItem, BatchLayout
from services.batch.manifest import BatchManifest
from tests.browser.conftest import axe_violations
from tests.browser.test_wallet_flows import _signed_in
from tests.browser.wallet import NodeBackedWallet
from tests.contracts.helpers import paid_lock, register_esp
from tests.contracts.test_court_duplicate_image import _batch_holding, _single

pytestmark = pytest.mark.browser


def test_a_twice_registered_image_is_ruled_from_the_notification(site, browser):
    world = site.api.world
    register_esp(world)
    content = b"batched, then registered alone"
    first_lock = paid_lock(world, world.producer, world.esp)
    batch_id, plan, item = _batch_holding(world, world.producer, content, esp=world.esp)
    single = _single(world, world.producer, content, esp=world.esp, lock=first_lock)
    site.api.index()
    layout = BatchLayout.of(
        [
            BatchItem(it.content_hash, it.fingerprint, keccak(it.detail), it.seed)
            for it in plan.items
        ]
    )
    details = {it.content_hash: it.detail for it in plan.items}
    manifest = BatchManifest(
        batch_id, layout, tuple(details[it.content_hash] for it in layout.items)
    )
    r = site.api.client.post(
        f"/v1/batches/{batch_id}/manifest",
        json=manifest.to_json(),
        headers=site.api.sign_in(world.producer),
    )
    assert r.status_code in (200, 201), r.text

    wallet = NodeBackedWallet(world.producer, world.chain)  # the SDK reads the chain through it
    page = browser.new_context().new_page()
    wallet.install(page)
    _signed_in(page, site)
    page.wait_for_selector("li[data-kind=duplicate_registration] button.ruling")
    assert page.locator("li[data-kind=duplicate_registration]").count() == 2  # both are Bob's
    assert axe_violations(page) == []
    note = page.locator("li[data-kind=duplicate_registration]").first

    # A lying API sends the ruling's transaction elsewhere: the SDK in the page refuses it
    # before the wallet is asked (the button sent whatever the API returned, unchecked).
    def elsewhere(route):
        answer = route.fetch()
        tx = {**answer.json(), "to": world.attacker.address}
        route.fulfill(response=answer, body=json.dumps(tx))

    page.route("**/v1/tx/batch/court/duplicate-image", elsewhere)
    note.locator("button.ruling").click()
    page.wait_for_selector("li[data-kind=duplicate_registration] p.error[data-code=tx_mismatch]")
    assert wallet.sent == []
    page.unroute("**/v1/tx/batch/court/duplicate-image")
    note.locator("button.ruling").click()
    page.wait_for_selector("li[data-kind=duplicate_registration] p.ok[data-tx]")
    assert len(wallet.sent) == 1, wallet.errors
    assert world.registry(world.deployer).record(single).status is TokenStatus.REVOKED
    assert item >> 32 == batch_id
