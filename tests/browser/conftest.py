"""Browser fixtures: Debian's chromium driven by Playwright (never a downloaded browser) against
the real app served by uvicorn on a free port, on the embedded chain and a fresh database.

With ``CI=true`` a missing chromium or Playwright is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from marketplace_api.config import ApiSettings
from marketplace_api.main import create_app
from tests.api.conftest import Api, sign, siwe_text
from tests.contracts.committee_kit import CommitteeWorld, committee_world

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"


def _missing(what: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is required in CI (scripts/install-browser installs it)")
    pytest.skip(f"{what} is not installed (scripts/install-browser installs it)")


def chromium_path() -> str | None:
    explicit = os.environ.get("AIGC_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        _missing("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright (Python)")
    if not AXE.exists():
        _missing("axe-core (npm ci)")
    with sync_playwright() as pw:
        # --no-sandbox: CI runs as root, where chromium's sandbox cannot start.
        b = pw.chromium.launch(executable_path=path, args=["--no-sandbox"], headless=True)
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SiteApi(Api):
    """The API test helper, signing in for the site's own origin (what its settings name)."""

    def __init__(self, client: TestClient, world, host: str):
        super().__init__(client, world)
        self.host = host

    def sign_in(self, account) -> dict[str, str]:
        text = siwe_text(
            account,
            nonce=self.nonce(),
            chain_id=self.chain_id,
            domain=self.host,
            uri=f"http://{self.host}",
        )
        r = self.client.post(
            "/v1/auth/verify", json={"message": text, "signature": sign(account, text)}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}


class Site:
    """The app behind a real HTTP server, plus an in-process client to set the stage."""

    def __init__(self, app, api: Api, url: str):
        self.app = app
        self.api = api
        self.url = url


@pytest.fixture
def site(embedded_world, tmp_path) -> Iterator[Site]:
    with serve(embedded_world, tmp_path) as served:
        yield served


@pytest.fixture
def committee_site(embedded_chain, tmp_path) -> Iterator[tuple[Site, CommitteeWorld]]:
    """The app over a deployment with a CommitteeVerifier (short phases, twenty registered
    juror ESPs, none enrolled: tests/contracts/committee_kit.py), reverted after the test."""
    for committee in committee_world(embedded_chain):
        with serve(committee.world, tmp_path) as served:
            yield served, committee


@contextmanager
def serve(world, tmp_path) -> Iterator[Site]:
    """The app over ``world``'s deployment behind uvicorn on a free port, a fresh database."""
    import uvicorn

    port = _free_port()
    settings = ApiSettings(
        # Sign-in names the page's own origin, as `aigc serve` configures it for its web app.
        siwe_domain=f"127.0.0.1:{port}",
        siwe_uri=f"http://127.0.0.1:{port}",
        database_url=f"sqlite:///{tmp_path / 'web.db'}",
        blob_dir=tmp_path / "blobs",
        rate_nonce_per_minute=1000,
        indexer_interval_s=0,
    )
    app = create_app(settings, world.deployment)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="web-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    client = TestClient(app)  # no context manager: the lifespan (indexer) stays off
    try:
        host = f"127.0.0.1:{port}"
        yield Site(app, SiteApi(client, world, host), f"http://{host}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations on the current page.

    axe-core goes in through the DevTools protocol: the app's Content-Security-Policy refuses
    an inline script tag (what ``add_script_tag`` adds), as it should for any injected script."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Runtime.evaluate", {"expression": AXE.read_text()})
    cdp.detach()
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page, name: str) -> None:
    """Saves docs/img/<name>.png when AIGC_SCREENSHOTS=1 (README's pictures come from here)."""
    if os.environ.get("AIGC_SCREENSHOTS") == "1":
        out = REPO / "docs" / "img" / f"{name}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=True)
