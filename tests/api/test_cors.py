"""CORS: configured origins get preflights and tagged responses; others and the default get none."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from marketplace_api.config import ApiSettings
from marketplace_api.cors import parse_origins
from marketplace_api.main import create_app

DAPP = "https://dapp.example"


@pytest.fixture
def client_for(embedded_world, tmp_path):
    apps = []

    def make(origins: str) -> TestClient:
        settings = ApiSettings(
            database_url=f"sqlite:///{tmp_path / f'c{len(apps)}.db'}",
            blob_dir=tmp_path / "b",
            indexer_interval_s=0,
            follow_interval_s=0,  # no follower thread on the embedded chain (tests/api/conftest.py)
            cors_origins=origins,
        )
        app = create_app(settings, embedded_world.deployment)
        apps.append(app)
        return TestClient(app)

    yield make
    for app in apps:
        app.state.engine.dispose()


def _preflight(client: TestClient, origin: str):
    return client.options(
        "/v1/tasks",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def test_parse_origins():
    assert parse_origins("") == []
    assert parse_origins(" https://a.example/ ,https://b.example:8443,, ") == [
        "https://a.example",
        "https://b.example:8443",
    ]


def test_default_is_same_origin_only(client_for):
    client = client_for("")
    assert _preflight(client, DAPP).status_code == 405
    r = client.get("/healthz", headers={"Origin": DAPP})
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers


def test_configured_origin_gets_preflight_with_authorization(client_for):
    client = client_for(f"{DAPP}, https://other.example")
    r = _preflight(client, DAPP)
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == DAPP
    assert "POST" in r.headers["access-control-allow-methods"]
    allowed = r.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "access-control-allow-credentials" not in r.headers  # bearer tokens, not cookies
    simple = client.get("/healthz", headers={"Origin": DAPP})
    assert simple.headers["access-control-allow-origin"] == DAPP
    assert "retry-after" in simple.headers["access-control-expose-headers"].lower()


def test_unlisted_origin_is_refused(client_for):
    client = client_for(DAPP)
    r = _preflight(client, "https://evil.example")
    assert r.status_code == 400
    assert "access-control-allow-origin" not in r.headers
    simple = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_errors_carry_cors_headers(client_for):
    """A browser can read a 401 or 404 body only when the error response is tagged too."""
    client = client_for(DAPP)
    r = client.get("/v1/products/0x" + "ab" * 32, headers={"Origin": DAPP})
    assert r.status_code == 404
    assert r.headers["access-control-allow-origin"] == DAPP


def test_wildcard(client_for):
    client = client_for("*")
    r = _preflight(client, "https://anyone.example")
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
