"""Red team 4 in the browser: strings anyone can put in front of the product page rendered as text.

A token's generation opening is published by anyone whose prompt regenerates the image (the
producer chooses the prompt: up to 1,000 characters of anything); its model id, the timeline's
event kinds and verdicts come from the chain through the API. A compromised API can answer
anything. Here the page's API answers are replaced with markup in every string field: each is
shown as text, nothing runs, nothing is refused by the Content-Security-Policy (nothing tried to
be HTML), and the page shows no link or image it did not build. Guard (no hole found): the page
builds every node with ``createElement`` and text; the policy (test_redteam4_csp.py) would refuse
an HTML sink if one were added.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.contracts.helpers import ESP_STAKE

pytestmark = pytest.mark.browser

PAYLOAD = (
    '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    '<a href="javascript:window.__xss=3">x</a>'
)
TOKEN = "0x" + "ab" * 32
ADDRESS = "0x" + "12" * 20

RECORD = """
(() => {
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
  });
})();
"""


def _product() -> dict[str, Any]:
    return {
        "token_id": TOKEN,
        "status": "active",
        "owner": ADDRESS,
        "producer": ADDRESS,
        "esp": ADDRESS,
        "model_id": PAYLOAD,
        "seed": "7",
        "task_id": PAYLOAD,
        "priority_block": 3,
        "registered_block": 4,
        "fingerprint": PAYLOAD,
        "detail_hash": PAYLOAD,
        "attestation": PAYLOAD,
        "has_image": False,
        "reclaimable_until": PAYLOAD,
        "history": [
            {"kind": PAYLOAD, "block": PAYLOAD},
            {"kind": "decided", "verdict": PAYLOAD, "original": PAYLOAD, "duplicate": PAYLOAD},
            {"kind": "transferred", "from": PAYLOAD, "to": PAYLOAD},
        ],
    }


def _opening() -> dict[str, Any]:
    return {"token_id": TOKEN, "prompt": PAYLOAD, "seed": PAYLOAD, "model_id": PAYLOAD}


def test_api_strings_on_the_product_page_are_text(site, browser):
    page = browser.new_context().new_page()
    page.add_init_script(RECORD)

    def answer(route: Any) -> None:
        url = route.request.url
        body = _opening() if url.endswith("/generation") else _product()
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route(f"**/v1/products/{TOKEN}", answer)
    page.route(f"**/v1/products/{TOKEN}/generation", answer)
    page.goto(f"{site.url}/#/product/{TOKEN}")
    page.wait_for_selector(".generation-proof[data-state=published]")
    main = page.inner_text("main")
    assert main.count("<script>window.__xss=2</script>") >= 5, main
    assert page.evaluate("window.__xss") is None
    assert page.locator("main img[src=x]").count() == 0
    assert page.locator("main script").count() == 0
    hrefs = page.eval_on_selector_all("main a", "as => as.map((a) => a.getAttribute('href'))")
    assert hrefs and all(h.startswith("#/") for h in hrefs), hrefs
    assert page.evaluate("window.__violations") == []


def test_the_esp_ranking_shows_prices_exactly(site, browser):
    """Amounts are uints: the ranking printed Number(wei / 10^12) / 10^6, so an ESP charging
    999,999,999,999 wei (or 123 wei) showed as "0 ETH" next to ESPs charging real fees; now
    every digit is kept (a royalty notification used the same formula)."""
    world = site.api.world
    world.esps(world.esp).register("https://cheap.example", price=123, stake=ESP_STAKE)
    site.api.index()
    page = browser.new_page()
    page.goto(f"{site.url}/#/esps")
    page.wait_for_selector(f"tr[data-esp='{world.esp.address}']")
    row = page.inner_text(f"tr[data-esp='{world.esp.address}']")
    assert "0.000000000000000123 ETH" in row, row
