"""The producer studio in the browser (issue 15): sign in, choose an ESP from the ranking, write a
prompt, pay the quoted fee lock from the wallet, watch the task over server-sent events, open the
sealed delivery with the wallet-derived delivery key, register (commit, then reveal), list; the
token then shows in the gallery. The ESP is the real worker (constant-ish images); the page's
SDK is the committed esbuild bundle, which a test here proves is what the sources build.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ledger import HtlcClient
from services.esp_worker import EspWorker
from services.market_client import MarketClient
from services.provenance import fingerprint
from tests.browser.conftest import REPO, axe_violations, screenshot
from tests.browser.wallet import NodeBackedWallet
from tests.contracts.helpers import FEE, register_esp

BUNDLE = REPO / "marketplace_api" / "web" / "sdk.bundle.js"
SCRIPT = REPO / "js" / "sdk" / "scripts" / "bundle-web.sh"


def _image(prompt: str, seed: int):
    rng = np.random.default_rng(seed + len(prompt))
    small = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((64, 64), Image.Resampling.BICUBIC), {
        "model_id": "test-painter"
    }


def _fp(img):
    return fingerprint(img).to_bytes32()


def _worker(site, tmp_path: Path) -> EspWorker:
    world = site.api.world
    client = MarketClient(site.api.client, world.esp)
    client.sign_in()
    return EspWorker(
        client,
        HtlcClient(world.deployment, world.tx(world.esp)),
        make_image=_image,
        fingerprint=_fp,
        state_path=tmp_path / "esp-state.json",
        price=FEE,
    )


def _drive(page, site, worker: EspWorker, selector: str, rounds: int = 300) -> None:
    """Lets the page run (its wallet answers while Playwright waits) while the ESP worker and the
    indexer take their steps, until `selector` shows; fails after `rounds` rounds."""
    for _ in range(rounds):
        if page.locator(selector).count():
            return
        errors = page.locator("p.error")
        assert errors.count() == 0, errors.first.inner_text()
        worker.step()
        site.api.index()
        page.wait_for_timeout(100)
    raise AssertionError(f"{selector} never showed")


def _settle(page, wallet: NodeBackedWallet, selector: str) -> None:
    """Waits for `selector` or an error on the page; an error fails with its words."""
    page.wait_for_selector(f"{selector}, p.error")
    errors = page.locator("p.error")
    assert errors.count() == 0, f"{errors.first.inner_text()}; the wallet: {wallet.errors[-3:]}"


@pytest.mark.browser
def test_a_producer_generates_registers_and_lists_from_the_studio(site, browser, tmp_path):
    world = site.api.world
    register_esp(world)
    register_esp(world, world.buyer)  # two ESPs: the producer picks one from the ranking
    worker = _worker(site, tmp_path)
    wallet = NodeBackedWallet(world.producer, world.chain)
    page = browser.new_context().new_page()
    wallet.install(page)
    page.goto(site.url + "/#/studio")
    page.click("#connect")
    page.wait_for_selector("form.studio")
    assert page.locator("label.esp-choice").count() == 2
    assert axe_violations(page) == []
    page.check(f"label.esp-choice[data-esp='{world.esp.address}'] input")
    page.fill("textarea[name=prompt]", "a lighthouse at dusk")
    page.fill("input[name=seed]", "7")
    page.click("#generate")

    _drive(page, site, worker, "#pay")
    assert wallet.calls.count("personal_sign") == 2  # sign-in, then the delivery key
    assert page.get_attribute("ol.steps", "data-status") == "quoted"
    screenshot(page, "studio-quoted")
    page.click("#pay")
    _drive(page, site, worker, "#open")
    assert page.get_attribute("ol.steps", "data-status") == "claimed"
    page.click("#open")
    _settle(page, wallet, "img.delivered")
    page.click("#register")
    _settle(page, wallet, "p.ok[data-token]")
    token = int(page.get_attribute("p.ok[data-token]", "data-token"))
    assert axe_violations(page) == []
    screenshot(page, "studio-registered")

    page.fill("input[name=price]", "0.01")
    page.click("#list")
    page.wait_for_selector("text=Listed for 0.01 ETH")
    site.api.index()
    listings = site.api.client.get("/v1/listings").json()["items"]
    assert [int(x["token_id"], 0) for x in listings] == [token]

    product = site.api.client.get(f"/v1/products/{token}").json()
    assert product["producer"] == world.producer.address and product["esp"] == world.esp.address
    page.goto(site.url + "/#/")
    page.wait_for_selector("li.card")
    cards = page.eval_on_selector_all("li.card", "cs => cs.map(c => c.dataset.token)")
    assert [int(c, 0) for c in cards] == [token]


@pytest.mark.browser
def test_a_rejected_payment_pays_nothing_and_a_cheating_delivery_is_reported(
    site, browser, tmp_path, monkeypatch
):
    """The payment rejected in the wallet, then retried; the ESP then seals other bytes than it
    attested: opening fails with the reason and the page's one-click fraud report proves it."""
    from services import esp_worker

    honest = esp_worker.seal_to
    monkeypatch.setattr(  # attests one image, seals another
        esp_worker, "seal_to", lambda data, **kw: honest(b"junk" + data[4:], **kw)
    )
    world = site.api.world
    register_esp(world)
    worker = _worker(site, tmp_path)
    wallet = NodeBackedWallet(world.producer, world.chain)
    page = browser.new_context().new_page()
    wallet.install(page)
    page.goto(site.url + "/#/studio")
    page.click("#connect")
    page.wait_for_selector("form.studio")
    page.fill("textarea[name=prompt]", "a red kite")
    page.click("#generate")
    _drive(page, site, worker, "#pay")
    wallet.reject.add("eth_sendTransaction")
    page.click("#pay")
    page.wait_for_selector("p.error")
    assert page.get_attribute("p.error", "data-code") == "rejected"
    assert wallet.sent == []
    wallet.reject.clear()
    page.click("#pay")
    page.wait_for_selector("p.ok[data-tx]")
    assert page.get_attribute("p.ok[data-tx]", "data-tx") == wallet.sent[0]

    _drive(page, site, worker, "#open")
    page.click("#open")
    page.wait_for_selector("p.error[data-code=delivery_mismatch]")
    page.click("#report-fraud")
    page.wait_for_selector("p.ok[data-fraud], .fraud-result p.error")
    refused = page.locator(".fraud-result p.error")
    assert refused.count() == 0, refused.first.inner_text()
    assert page.get_attribute("p.ok[data-fraud]", "data-fraud") == "fraud_proven"
    task_id = page.get_attribute("ol.steps", "data-task")
    task = site.api.client.get(f"/v1/tasks/{task_id}", headers=site.api.sign_in(world.producer))
    assert task.json()["status"] == "fraud_proven"
    assert axe_violations(page) == []


def test_task_events_are_for_the_tasks_parties_only(site):
    world = site.api.world
    register_esp(world)
    producer = site.api.sign_in(world.producer)
    r = site.api.client.post(
        "/v1/tasks", json={"prompt": "x", "max_price": str(FEE)}, headers=producer
    )
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]
    url = f"/v1/tasks/{task_id}/events"
    assert site.api.client.get(url).json()["error"]["code"] == "unauthorized"
    other = site.api.client.get(url, headers=site.api.sign_in(world.attacker))
    assert other.status_code == 403
    missing = site.api.client.get(f"/v1/tasks/0x{'00' * 32}/events", headers=producer)
    assert missing.status_code == 404


def test_task_events_stream_the_current_state_then_each_change(site, tmp_path, monkeypatch):
    import httpx

    from marketplace_api.routers import events

    monkeypatch.setattr(events, "CHECK_S", 0.05)
    world = site.api.world
    register_esp(world)
    worker = _worker(site, tmp_path)
    producer = site.api.sign_in(world.producer)
    r = site.api.client.post(
        "/v1/tasks", json={"prompt": "a fox", "max_price": str(FEE)}, headers=producer
    )
    task_id = r.json()["id"]
    url = f"{site.url}/v1/tasks/{task_id}/events"
    with httpx.stream("GET", url, headers=producer, timeout=30) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = resp.iter_lines()
        assert next(lines) == "event: task"
        first = json.loads(next(lines).removeprefix("data: "))
        assert first == site.api.client.get(f"/v1/tasks/{task_id}", headers=producer).json()
        assert first["status"] == "posted"
        assert worker.step() == [f"quoted {task_id[:10]}"]
        data = next(line for line in lines if line.startswith("data: "))  # the next change
        assert json.loads(data.removeprefix("data: "))["status"] == "quoted"


def test_the_committed_sdk_bundle_is_what_the_sources_build(tmp_path):
    if shutil.which("node") is None or not (REPO / "node_modules" / ".bin" / "esbuild").exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("node and node_modules (npm ci) are required in CI")
        pytest.skip("node or node_modules/esbuild missing (npm ci)")
    out = tmp_path / "sdk.bundle.js"
    subprocess.run([str(SCRIPT), str(out)], check=True, cwd=tmp_path)
    assert out.read_bytes() == BUNDLE.read_bytes(), (
        "marketplace_api/web/sdk.bundle.js is stale: run js/sdk/scripts/bundle-web.sh"
    )
