"""The ESP dashboard in the browser (issue 15): tasks, revenue, refunds and challenges from the
API, and the reputation over time drawn as a plain SVG line, one point per feedback record."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from marketplace_api.models import Task
from tests.api.test_dashboard import _task
from tests.api.test_esps import _pay
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.wallet import TestWallet
from tests.contracts.helpers import register_esp

pytestmark = pytest.mark.browser


def test_the_esp_dashboard_shows_its_record_and_reputation_chart(site, browser):
    world = site.api.world
    esp = register_esp(world)
    for deliver in (True, True, False, True):
        _pay(world, world.producer, esp, deliver=deliver)
    site.api.index()
    p, e = world.producer.address, esp.address
    rows = [
        _task(1, e, p, "claimed", 2 * 10**15),
        _task(2, e, p, "registered", 3 * 10**15),
        _task(3, e, p, "refunded", 10**15),
    ]
    with site.app.state.engine.begin() as conn:
        conn.execute(insert(Task), rows)

    # From the ranking, the ESP's row leads to its dashboard; signed in, the producer's view.
    wallet = TestWallet(world.producer, world.chain)
    context = browser.new_context()
    page = context.new_page()
    wallet.install(page)
    page.goto(site.url + "/#/esps")
    page.click("#connect")
    page.wait_for_selector("text=Signed in as")
    page.click(f"tr[data-esp='{e}'] a")
    page.wait_for_selector("svg.chart")
    assert page.locator("svg.chart circle").count() == 4
    assert page.locator("svg.chart circle.neg").count() == 1
    assert page.inner_text("[data-stat=revenue] .value") == "0.005 ETH"
    assert page.inner_text("[data-stat=refunded] .value") == "1"
    assert page.inner_text("[data-stat=tasks] .value") == "3"
    assert "As you see it" in page.inner_text("main")
    api_view = site.api.client.get(
        f"/v1/esps/{e}/dashboard", headers=site.api.sign_in(world.producer)
    ).json()
    assert f"Now: {api_view['reputation_now']:.3f}." in page.inner_text("main")
    assert axe_violations(page) == []
    screenshot(page, "esp-dashboard")
    context.close()

    # Phone width, anonymous: usable without horizontal scroll.
    phone = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    small = phone.new_page()
    small.goto(f"{site.url}/#/esp/{e}")
    small.wait_for_selector("svg.chart")
    assert "As a newcomer sees it" in small.inner_text("main")
    overflow = small.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow}px of horizontal scroll at phone width"
    # An address that is no registered ESP: the API's 404 as a sentence.
    small.evaluate(f"() => {{ location.hash = '#/esp/0x{'ab' * 20}'; }}")
    small.wait_for_selector("p.error[data-code=not_found]")
    assert "{" not in small.inner_text("main")
    phone.close()
