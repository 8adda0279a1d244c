"""The web app's gallery and provenance pages in a real Chromium (issue 15, first slice).

Real registrations on the embedded chain, indexed into SQL, uploaded images, then the page as a
person sees it: newest first, filters, paging, a provenance page with the timeline and similar
images, clear errors, no serious accessibility violation, usable at phone width, and a first
page over 10,000 products that costs a bounded number of database queries.
"""

from __future__ import annotations

import pytest
from PIL import Image, ImageOps

from tests.api.test_products import (
    _picture,
    _png,
    _register_picture,
    insert_products,
    selects_of_requests,
)
from tests.browser.conftest import axe_violations, screenshot
from tests.contracts.helpers import register_esp

pytestmark = pytest.mark.browser


def _stage(site, n: int = 3) -> list[tuple[str, Image.Image]]:
    """``n`` registered products with their images uploaded, oldest first."""
    api = site.api
    world = api.world
    register_esp(world)
    made = []
    for seed in range(n):
        img = _picture(seed + 10)
        owner = world.producer if seed % 2 == 0 else world.buyer
        made.append((_register_picture(world, owner, img), img, owner))
    api.index()
    for token, img, owner in made:
        headers = api.sign_in(owner)
        files = {"image": ("x.png", _png(img), "image/png")}
        r = api.client.put(f"/v1/products/{token}/image", files=files, headers=headers)
        assert r.status_code == 200, r.text
    return [(token, img) for token, img, _ in made]


def _decimal(token_hex: str) -> str:
    return str(int(token_hex, 16))


def test_gallery_shows_the_registered_images_newest_first_and_opens_their_provenance(site, browser):
    made = _stage(site)
    page = browser.new_page()
    page.goto(site.url + "/")
    page.wait_for_selector("li.card")
    shown = page.eval_on_selector_all("li.card", "els => els.map(e => e.dataset.token)")
    assert shown == [_decimal(t) for t, _ in reversed(made)]
    # Every thumbnail really loads (served by the API, not a placeholder).
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.thumb')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    assert axe_violations(page) == []
    screenshot(page, "gallery")

    page.click(f"li.card[data-token='{_decimal(made[0][0])}'] a")
    page.wait_for_selector("ol.timeline li")
    text = page.inner_text("main")
    assert site.api.world.esp.address in text
    assert "Registered on chain" in text
    assert "active" in text
    # Similar images: the product itself is left out; the other random pictures are not similar.
    page.wait_for_selector("#similar p.muted, #similar li.card")
    assert page.locator(f"#similar li.card[data-token='{_decimal(made[0][0])}']").count() == 0
    assert axe_violations(page) == []
    screenshot(page, "product")


def test_filters_and_find_similar_by_upload(site, browser, tmp_path):
    made = _stage(site)
    world = site.api.world
    page = browser.new_page()
    page.goto(site.url + "/")
    page.wait_for_selector("li.card")
    page.fill("input[name=owner]", world.buyer.address)
    page.click("form.filters button[type=submit] >> nth=0")
    page.wait_for_function("() => location.hash.includes('owner=')")
    page.wait_for_function("() => document.querySelectorAll('li.card').length === 1")
    assert page.eval_on_selector("li.card", "e => e.dataset.token") == _decimal(made[1][0])
    # By producer and by ESP (the API's filters, kept in the address bar).
    page.fill("input[name=owner]", "")
    page.fill("input[name=producer]", world.producer.address)
    page.fill("input[name=esp]", world.esp.address)
    page.click("form.filters button[type=submit] >> nth=0")
    page.wait_for_function(
        "() => location.hash.includes('producer=') && location.hash.includes('esp=')"
    )
    page.wait_for_function("() => document.querySelectorAll('li.card').length === 2")
    shown = page.eval_on_selector_all("li.card", "els => els.map(e => e.dataset.token)")
    assert shown == [_decimal(made[2][0]), _decimal(made[0][0])]
    page.fill("input[name=producer]", "")
    page.fill("input[name=esp]", world.buyer.address)  # no image of this ESP
    page.click("form.filters button[type=submit] >> nth=0")
    page.wait_for_selector("text=No product matches these filters.")

    # An edited copy (mirrored, JPEG) of the first image finds it.
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(_png(ImageOps.mirror(made[0][1]), "JPEG"))
    page.goto(site.url + "/#/")
    page.wait_for_selector("li.card")
    page.set_input_files("input[type=file]", str(copy))
    page.click("form[aria-label='Find similar images'] button")
    page.wait_for_selector("#similar li.card")
    found = page.eval_on_selector_all("#similar li.card", "els => els.map(e => e.dataset.token)")
    assert found == [_decimal(made[0][0])]


def test_errors_are_messages_not_json(site, browser, tmp_path):
    page = browser.new_page()
    page.goto(site.url + "/#/product/12345")
    page.wait_for_selector("p.error")
    assert page.get_attribute("p.error", "data-code") == "not_found"
    assert "Nothing is registered" in page.inner_text("p.error")
    assert "{" not in page.inner_text("main")
    # A file that is no image: the API's 415 becomes a sentence.
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not an image")
    page.goto(site.url + "/#/")
    page.wait_for_selector("form[aria-label='Find similar images']")
    page.set_input_files("input[type=file]", str(bad))
    page.click("form[aria-label='Find similar images'] button")
    page.wait_for_selector("#similar p.error")
    assert "{" not in page.inner_text("#similar p.error")


def test_phone_width_has_no_horizontal_scroll(site, browser):
    made = _stage(site, n=2)
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    for path in ("/", f"/#/product/{_decimal(made[0][0])}"):
        page.goto(site.url + path)
        page.wait_for_selector("li.card, ol.timeline")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path}: {overflow}px of horizontal scroll at phone width"
    context.close()


def test_first_page_over_ten_thousand_products_costs_a_bounded_number_of_queries(site, browser):
    engine = site.app.state.engine
    insert_products(engine, 10_000, producers=["0x" + "11" * 20], esps=["0x" + "33" * 20])
    with selects_of_requests(engine) as selects:
        page = browser.new_page()
        page.goto(site.url + "/")
        page.wait_for_function("() => document.querySelectorAll('li.card').length === 24")
        first = page.eval_on_selector("li.card", "e => e.dataset.token")
        assert first == str(10_000)  # newest first
        page.click("a[rel=next]")
        page.wait_for_function("() => location.hash.includes('offset=24')")
        page.wait_for_function("() => document.querySelector('li.card')?.dataset.token === '9976'")
    # Two pages, each one SELECT (no query per product, no COUNT over the table).
    assert len(selects) <= 4, selects
