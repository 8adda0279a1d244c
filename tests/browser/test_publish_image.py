"""Publishing a registered token's image from the browser (PUT /v1/products/{id}/image through
the SDK's publishImage): the studio uploads the opened image right after registering it (a
checkbox, on by default), a refused upload is told and never loses the registration (retry in
place), and the product page offers its producer or owner a file picker while the marketplace
holds no image (another file is the API's 422 hash_mismatch, told in words).

Real API and chain; in the studio, the real ESP worker of test_studio; only the first upload's
answer is replaced (page.route) to see a refusal.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.api.test_products import _png, _register_picture
from tests.browser.conftest import axe_violations
from tests.browser.test_studio import _drive, _settle, _worker
from tests.browser.wallet import NodeBackedWallet, TestWallet
from tests.contracts.helpers import register_esp

pytestmark = pytest.mark.browser


def _picture(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((64, 64), Image.Resampling.BICUBIC)


def _wait(page, site, selector: str, rounds: int = 200) -> None:
    """Indexes the chain while the page runs until ``selector`` shows."""
    for _ in range(rounds):
        if page.locator(selector).count():
            return
        site.api.index()
        page.wait_for_timeout(100)
    raise AssertionError(f"{selector} never showed")


def _studio_registers(site, browser, tmp_path, *, publish: bool = True, route=None):
    """The studio from sign-in to a registered token (real ESP worker); returns the page and
    the token id. ``publish`` False unticks the publish checkbox first; ``route`` handles the
    page's image uploads."""
    world = site.api.world
    register_esp(world)
    worker = _worker(site, tmp_path)
    wallet = NodeBackedWallet(world.producer, world.chain)
    page = browser.new_context().new_page()
    wallet.install(page)
    if route is not None:
        page.route("**/v1/products/*/image", route)
    page.goto(site.url + "/#/studio")
    page.click("#connect")
    page.wait_for_selector("form.studio")
    page.check(f"label.esp-choice[data-esp='{world.esp.address}'] input")
    page.fill("textarea[name=prompt]", "a lighthouse at dusk")
    page.fill("input[name=seed]", "7")
    page.click("#generate")
    _drive(page, site, worker, "#pay")
    page.click("#pay")
    _drive(page, site, worker, "#open")
    page.click("#open")
    _settle(page, wallet, "img.delivered")
    assert page.is_checked("#publish-image"), "publishing is on by default"
    if not publish:
        page.uncheck("#publish-image")
    page.click("#register")
    page.wait_for_selector("p.ok[data-token]")
    return page, int(page.get_attribute("p.ok[data-token]", "data-token"))


def test_the_studio_publishes_the_image_once_the_api_has_indexed_the_token(site, browser, tmp_path):
    page, token = _studio_registers(site, browser, tmp_path)
    # the API has not indexed the reveal yet (404): the page waits, then publishes
    page.wait_for_selector("text=waiting for it to index your token")
    assert page.get_attribute("div.publish-image", "data-state") == "publishing"
    _wait(page, site, "div.publish-image[data-state=published]")
    assert "Image published" in page.inner_text("div.publish-image")
    assert page.locator("p.error").count() == 0
    product = site.api.client.get(f"/v1/products/{token}").json()
    assert product["has_image"] is True and product["attestation"] == "matches"
    assert site.api.client.get(f"/v1/products/{token}/image").status_code == 200


def test_the_studio_publishes_nothing_when_unticked(site, browser, tmp_path):
    puts: list[str] = []

    def count(route):
        puts.append(route.request.method)
        route.fallback()

    page, token = _studio_registers(site, browser, tmp_path, publish=False, route=count)
    site.api.index()
    page.wait_for_timeout(500)
    assert puts == []
    assert page.locator("div.publish-image").inner_text() == ""
    assert site.api.client.get(f"/v1/products/{token}").json()["has_image"] is False


def test_a_refused_upload_in_the_studio_is_told_keeps_the_token_and_retries(
    site, browser, tmp_path
):
    refused: list[str] = []

    def refuse_once(route):
        if route.request.method != "PUT" or refused:
            route.fallback()
            return
        refused.append(route.request.url)
        body = '{"error": {"code": "hash_mismatch", "message": "image content hash differs"}}'
        route.fulfill(status=422, content_type="application/json", body=body)

    page, token = _studio_registers(site, browser, tmp_path, route=refuse_once)
    # the first upload is refused: told in words, the registration stays, a retry is offered
    _wait(page, site, "div.publish-image[data-state=failed]")
    assert len(refused) == 1
    assert page.get_attribute("div.publish-image p.error", "data-code") == "hash_mismatch"
    assert "content hash" in page.inner_text("div.publish-image p.error")
    assert page.locator("p.ok[data-token]").count() == 1
    assert page.locator("#list").count() == 1
    site.api.index()
    assert site.api.client.get(f"/v1/products/{token}").json()["has_image"] is False
    assert axe_violations(page) == []

    page.click("button.retry-publish-image")
    _wait(page, site, "div.publish-image[data-state=published]")
    product = site.api.client.get(f"/v1/products/{token}").json()
    assert product["has_image"] is True and product["attestation"] == "matches"


def test_the_product_page_lets_its_producer_publish_the_image_and_refuses_another_file(
    site, browser, tmp_path
):
    world = site.api.world
    register_esp(world)
    img = _picture(1)
    token = _register_picture(world, world.producer, img)
    site.api.index()
    page = browser.new_context().new_page()
    TestWallet(world.producer, world.chain).install(page)
    page.goto(f"{site.url}/#/product/{token}")
    page.click("#connect")
    page.wait_for_selector("form.publish-image")
    assert axe_violations(page) == []
    picker = "form.publish-image input[type=file]"

    # another PNG: the API's content-hash check refuses it, in words, and stores nothing
    wrong = {"name": "other.png", "mimeType": "image/png", "buffer": _png(_picture(2))}
    page.set_input_files(picker, files=[wrong])
    page.click("form.publish-image button[type=submit]")
    page.wait_for_selector("form.publish-image p.error[data-code=hash_mismatch]")
    assert "not this token's image" in page.inner_text("form.publish-image p.error")
    assert site.api.client.get(f"/v1/products/{token}").json()["has_image"] is False

    right = {"name": "mine.png", "mimeType": "image/png", "buffer": _png(img)}
    page.set_input_files(picker, files=[right])
    page.click("form.publish-image button[type=submit]")
    page.wait_for_selector("img.full")
    assert page.locator("form.publish-image").count() == 0
    assert "match the image" in page.inner_text("dl.facts")
    product = site.api.client.get(f"/v1/products/{token}").json()
    assert product["has_image"] is True and product["attestation"] == "matches"


def test_the_product_page_offers_no_image_upload_to_others(site, browser):
    world = site.api.world
    register_esp(world)
    token = _register_picture(world, world.producer, _picture(3))
    site.api.index()
    page = browser.new_context().new_page()
    TestWallet(world.buyer, world.chain).install(page)
    page.goto(f"{site.url}/#/product/{token}")
    page.wait_for_selector("text=has not uploaded the image yet")
    assert page.locator("form.publish-image").count() == 0  # not signed in
    page.click("#connect")
    page.wait_for_selector("text=Signed in as")
    page.wait_for_selector("text=has not uploaded the image yet")
    assert page.locator("form.publish-image").count() == 0  # signed in, neither producer nor owner
