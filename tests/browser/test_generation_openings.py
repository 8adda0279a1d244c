"""Generation proofs in the browser (docs/provenance.md "Generation proofs"): the accused owner's
Contest publishes its token's generation opening first (the SDK's publishGenerationOpening, the
real API regenerating the image on the bundled model), a refusal is told and never blocks the
contest, and the product page shows whether a proof is published, with a Publish button for its
producer.

The token is a real bundled-model generation, registered with the bundled model's id and its
image attached; only the producer's task list (GET /v1/tasks, whose delivery carries the prompt
and the ESP's generation seed) is answered from the page's network layer: the embedded chain has
no ESP worker to deliver one.
"""

from __future__ import annotations

import json
import re

import pytest

from generators import get_generator
from generators.maker import image_maker
from ledger import Registration
from services.content import canonical_hash
from services.provenance import fingerprint
from services.provenance.detail import detail_descriptor
from services.provenance.generation_proof import model_key
from tests.api.test_products import _png
from tests.browser.conftest import axe_violations
from tests.browser.wallet import NodeBackedWallet
from tests.contracts.helpers import default_esp, paid_lock, register_esp, register_image

pytestmark = pytest.mark.browser

PROMPT = "a green star on a black background"
SEED = 424242


@pytest.fixture(scope="module")
def generated():
    return image_maker()(PROMPT, SEED)[0].convert("RGB")


def _register(world, owner, img) -> str:
    """``img`` registered by ``owner`` as a generation of the bundled model (attested by its
    default ESP: not the original's, so a challenge is no equivocation); its id in hex."""
    esp = default_esp(world, owner.address)
    lock = paid_lock(world, owner, esp)
    reg = Registration(
        content_hash=canonical_hash(img),
        fingerprint=fingerprint(img).to_bytes32(),
        detail=detail_descriptor(img),
        owner=owner.address,
        esp=esp.address,
        task_id=lock.id,
        model_id=model_key(get_generator("bundled").model_id),
        seed=1,
    )
    client = world.registry(owner)
    client.commit(reg)
    client.reveal(reg, lock, client.sign_attestation(esp, reg))
    return "0x" + reg.content_hash.hex()


def _attach(site, owner, token: str, img) -> None:
    files = {"image": ("x.png", _png(img), "image/png")}
    headers = site.api.sign_in(owner)
    r = site.api.client.put(f"/v1/products/{token}/image", files=files, headers=headers)
    assert r.status_code == 200, r.text


def _tasks(page, token: str, seed: int) -> list[str]:
    """Answers the producer's task list with one registered task whose delivery is ``token``'s
    image; returns the queries the page asked with."""
    asked: list[str] = []
    task = {
        "id": "0x" + "cd" * 32,
        "prompt": PROMPT,
        "status": "registered",
        "delivery": {"content_hash": token, "generation_seed": str(seed)},
    }

    def handle(route):
        asked.append(route.request.url.split("?", 1)[1])
        body = {"items": [task], "next": None}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route(re.compile(r"/v1/tasks\?"), handle)
    return asked


def _accused(site, browser, generated, *, attach: bool = True):
    """The buyer's bundled generation, challenged by an earlier registration of the same
    fingerprint; the buyer signed in on its account page, its notification shown."""
    world = site.api.world
    register_esp(world)
    original = register_image(
        world, world.producer, fingerprint=fingerprint(generated).to_bytes32()
    )
    token = _register(world, world.buyer, generated)
    site.api.index()
    if attach:
        _attach(site, world.buyer, token, generated)
    world.registry(world.producer).challenge(original, int(token, 16))
    site.api.index()
    wallet = NodeBackedWallet(world.buyer, world.chain)  # the SDK reads through it
    page = browser.new_context().new_page()
    wallet.install(page)
    return world, page, wallet, token


def _sign_in(page, site, path="/#/me"):
    page.goto(site.url + path)
    page.click("#connect")
    page.wait_for_selector("text=Signed in as")


def test_contest_publishes_the_generation_proof_first_then_contests(site, browser, generated):
    _, page, wallet, token = _accused(site, browser, generated)
    asked = _tasks(page, token, SEED)
    _sign_in(page, site)
    page.wait_for_selector("li[data-kind=challenge_opened] button.contest")
    assert "makes your prompt public" in page.inner_text("li[data-kind=challenge_opened]")
    assert site.api.client.get(f"/v1/products/{token}/generation").status_code == 404
    page.click("button.contest")
    page.wait_for_selector("p.ok[data-tx]")
    proof = page.locator("li[data-kind=challenge_opened] p.generation-proof")
    assert proof.get_attribute("data-state") == "published"
    assert "regenerated your image" in proof.inner_text()
    assert "status=delivered%2Cclaimed%2Cregistered" in asked[0] and "role=producer" in asked[0]
    # the real API regenerated the image from the prompt and seed, and stored the opening
    got = site.api.client.get(f"/v1/products/{token}/generation")
    assert got.status_code == 200, got.text
    assert got.json()["prompt"] == PROMPT and got.json()["seed"] == str(SEED)
    assert len(wallet.sent) == 1  # the contest (no committee on the embedded chain)
    assert axe_violations(page) == []
    # the product page says it is published, with the prompt as text
    page.goto(f"{site.url}/#/product/{token}")
    cell = page.locator("div.generation-proof[data-state=published]")
    cell.wait_for()
    assert PROMPT in cell.inner_text() and str(SEED) in cell.inner_text()
    assert page.locator("button.publish-proof").count() == 0


def test_an_opening_that_does_not_regenerate_the_image_is_told_and_the_contest_goes_on(
    site, browser, generated
):
    _, page, wallet, token = _accused(site, browser, generated)
    _tasks(page, token, SEED + 1)  # not the seed the image was made with
    _sign_in(page, site)
    page.click("li[data-kind=challenge_opened] button.contest")
    page.wait_for_selector("p.ok[data-tx]")
    proof = page.locator("li[data-kind=challenge_opened] p.generation-proof")
    assert proof.get_attribute("data-state") == "not_reproduced"
    assert "do not regenerate" in proof.inner_text()
    assert site.api.client.get(f"/v1/products/{token}/generation").status_code == 404
    assert len(wallet.sent) == 1


def test_a_token_without_its_image_contests_then_its_producer_publishes_from_the_product_page(
    site, browser, generated
):
    world, page, wallet, token = _accused(site, browser, generated, attach=False)
    _tasks(page, token, SEED)
    _sign_in(page, site)
    page.click("li[data-kind=challenge_opened] button.contest")
    page.wait_for_selector("p.ok[data-tx]")
    proof = page.locator("li[data-kind=challenge_opened] p.generation-proof")
    assert proof.get_attribute("data-state") == "image_missing"
    assert "not uploaded" in proof.inner_text()
    assert len(wallet.sent) == 1
    # the product page: none published, and its producer may publish it
    page.goto(f"{site.url}/#/product/{token}")
    page.locator("div.generation-proof[data-state=none]").wait_for()
    page.click("button.publish-proof")
    page.wait_for_selector("div.generation-proof p.error[data-code=image_missing]")
    _attach(site, world.buyer, token, generated)
    page.click("button.publish-proof")
    page.locator("div.generation-proof[data-state=published]").wait_for()
    assert PROMPT in page.inner_text("div.generation-proof")
    assert axe_violations(page) == []


def test_the_product_page_offers_no_publish_button_to_others(site, browser, generated):
    world = site.api.world
    register_esp(world)
    token = _register(world, world.buyer, generated)
    site.api.index()
    page = browser.new_context().new_page()
    NodeBackedWallet(world.producer, world.chain).install(page)
    _sign_in(page, site, f"/#/product/{token}")
    page.locator("div.generation-proof[data-state=none]").wait_for()
    assert page.locator("button.publish-proof").count() == 0
