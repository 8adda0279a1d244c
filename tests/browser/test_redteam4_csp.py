"""Red team 4 in the browser: the web app's Content-Security-Policy and hardening headers.

The page signs transactions and holds the session's bearer token, so a script injected into it
(a string some day rendered as HTML, a crafted link) could sign or spend in the user's name, and
another site framing it could trick a click on "Pay" (clickjacking). Before, the page was served
with no policy at all: these tests failed on the missing headers, and the injected inline script
ran (``window.__pwned`` set). Now the policy (marketplace_api/routers/web.py ``CSP``) is served
with every page and asset, the app runs under it with no violation, and an injected script,
inline event handler or HTML sink is refused, as is framing.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from marketplace_api.routers.web import CSP
from tests.browser.wallet import NodeBackedWallet
from tests.contracts.helpers import ESP_STAKE, FEE

pytestmark = pytest.mark.browser

# Records every CSP violation the page reports (the browser fires the event on the document).
RECORD = """
(() => {
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
  });
})();
"""


def test_every_page_and_asset_is_served_with_the_policy(site):
    """The headers on /, each asset and a 304; before: only nosniff on assets, no policy."""
    with httpx.Client(base_url=site.url) as http:
        for path in ("/", "/app/app.js", "/app/studio.js", "/app/sdk.bundle.js", "/app/style.css"):
            r = http.get(path)
            assert r.status_code == 200, path
            h = r.headers
            assert h["content-security-policy"] == CSP, path
            assert h["x-frame-options"] == "DENY", path
            assert h["x-content-type-options"] == "nosniff", path
            assert h["referrer-policy"] == "no-referrer", path
            assert h["cross-origin-opener-policy"] == "same-origin-allow-popups", path
            again = http.get(path, headers={"If-None-Match": h["etag"]})
            assert again.status_code == 304
            assert again.headers["content-security-policy"] == CSP
    directives = dict(d.split(" ", 1) for d in CSP.split("; "))
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'none'"


def _page(browser: Any, site: Any, account: Any) -> tuple[Any, NodeBackedWallet]:
    wallet = NodeBackedWallet(account, site.api.world.chain)
    page = browser.new_context().new_page()
    wallet.install(page)
    page.add_init_script(RECORD)
    return page, wallet


def test_the_app_runs_under_the_policy_without_a_violation(site, browser):
    """Gallery, ESPs, account (signed in through the injected wallet) and the studio (which loads
    the SDK bundle and reads the chain through the wallet): all work, and nothing was refused."""
    world = site.api.world
    world.esps(world.esp).register("https://esp.example", price=FEE, stake=ESP_STAKE)
    site.api.index()
    page, _wallet = _page(browser, site, world.producer)
    page.goto(site.url + "/#/")
    page.wait_for_selector("main h1")
    page.click("#connect")
    page.wait_for_selector("text=Signed in as")
    for path, ready in (
        ("/#/esps", "main h1"),
        ("/#/me", "main h1"),
        ("/#/studio", "form.studio"),
    ):
        page.goto(site.url + path)
        page.wait_for_selector(ready)
    assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 0
    assert page.evaluate("window.__violations") == []


def test_an_injected_inline_script_handler_or_html_is_refused(site, browser):
    """What an XSS would add to the page: an inline <script>, an inline event handler, markup
    through an HTML sink. Before the policy the script ran (``window.__pwned`` was 1)."""
    page = browser.new_context().new_page()
    page.add_init_script(RECORD)
    page.goto(site.url + "/#/")
    page.wait_for_selector("main h1")
    outcome = page.evaluate(
        """async () => {
          const out = {};
          const s = document.createElement('script');
          s.append(document.createTextNode('window.__pwned = 1'));
          document.body.append(s);
          try {
            const img = document.createElement('img');
            img.setAttribute('onerror', 'window.__pwned = 2');
            img.setAttribute('src', '/no-such-image');
            document.body.append(img);
            out.handler = 'set';
          } catch (e) { out.handler = e.name; }
          try {
            document.body.insertAdjacentHTML('beforeend', '<img src=x onerror="window.__pwned=3">');
            out.html = 'inserted';
          } catch (e) { out.html = e.name; }
          try { setTimeout('window.__pwned = 4', 0); out.timer = 'scheduled'; }
          catch (e) { out.timer = e.name; }
          await new Promise((r) => setTimeout(r, 300));
          out.pwned = window.__pwned ?? null;
          out.violations = window.__violations;
          return out;
        }"""
    )
    # nothing ran: the markup may reach the page (no Trusted Types: they would bind wallet
    # extensions' in-page scripts too), its inline handlers and the string timer may not
    assert outcome["pwned"] is None, outcome
    # each attempt is reported as a script-src violation
    assert len(outcome["violations"]) >= 4, outcome
    assert all(v.startswith("script-src") for v in outcome["violations"]), outcome


def test_another_site_cannot_frame_the_signing_page(site, browser):
    """Clickjacking: a page of another origin frames the app under a decoy button. The browser
    refuses to render it (frame-ancestors 'none'); before, the app loaded inside the frame."""
    page = browser.new_context().new_page()
    page.set_content(f'<iframe id="f" src="{site.url}/#/studio" width="800" height="600"></iframe>')
    frame = page.frame_locator("#f")
    assert frame.locator("#connect").count() == 0
    framed = [f for f in page.frames if f.url.startswith(site.url)]
    assert all(f.evaluate("document.getElementById('main')") is None for f in framed)
