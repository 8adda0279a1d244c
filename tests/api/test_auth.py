"""Sign-In with Ethereum: the happy path and every way a sign-in must fail (401)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from marketplace_api.config import ApiSettings
from marketplace_api.main import create_app
from tests.api.conftest import sign, siwe_text


def _verify(api, text, signature):
    return api.client.post("/v1/auth/verify", json={"message": text, "signature": signature})


def test_sign_in_and_use_the_token(api):
    alice = api.world.producer
    headers = api.sign_in(alice)
    r = api.client.get("/v1/auth/me", headers=headers)
    assert r.status_code == 200 and r.json() == {"address": alice.address}


def test_replayed_sign_in_is_refused(api):
    alice = api.world.producer
    text = siwe_text(alice, nonce=api.nonce(), chain_id=api.chain_id)
    assert _verify(api, text, sign(alice, text)).status_code == 200
    again = _verify(api, text, sign(alice, text))
    assert again.status_code == 401 and "already used" in again.json()["error"]["message"]


def test_unknown_nonce_wrong_domain_uri_chain_and_expiry_are_refused(api):
    alice = api.world.producer
    cases = {
        "unknown": siwe_text(alice, nonce="abcdef0123456789", chain_id=api.chain_id),
        "domain": siwe_text(alice, nonce=api.nonce(), chain_id=api.chain_id, domain="evil.example"),
        "uri": siwe_text(
            alice, nonce=api.nonce(), chain_id=api.chain_id, uri="http://evil.example"
        ),
        "chain": siwe_text(alice, nonce=api.nonce(), chain_id=api.chain_id + 1),
        "expired": siwe_text(
            alice,
            nonce=api.nonce(),
            chain_id=api.chain_id,
            expires_in=-1,
            issued_at=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1),
        ),
    }
    for name, text in cases.items():
        r = _verify(api, text, sign(alice, text))
        assert r.status_code == 401, (name, r.text)
        assert r.json()["error"]["code"] == "unauthorized"


def test_signature_by_someone_else_is_refused(api):
    alice, mallory = api.world.producer, api.world.attacker
    text = siwe_text(alice, nonce=api.nonce(), chain_id=api.chain_id)
    r = _verify(api, text, sign(mallory, text))
    assert r.status_code == 401 and "not made by" in r.json()["error"]["message"]


def test_malformed_message_and_signature(api):
    r = _verify(api, "hello", "0x" + "00" * 65)
    assert r.status_code == 401
    r = api.client.post("/v1/auth/verify", json={"message": "x", "signature": "0x1234"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


def test_missing_forged_and_expired_tokens(api, tmp_path):
    assert api.client.get("/v1/auth/me").status_code == 401
    forged = api.client.get("/v1/auth/me", headers={"Authorization": "Bearer abc.def"})
    assert forged.status_code == 401
    headers = api.sign_in(api.world.producer)
    token = headers["Authorization"].removeprefix("Bearer ")
    payload, mac = token.split(".")
    tampered = {"Authorization": f"Bearer {payload[:-2]}AA.{mac}"}
    assert api.client.get("/v1/auth/me", headers=tampered).status_code == 401
    short = create_app(
        ApiSettings(
            database_url=f"sqlite:///{tmp_path / 's.db'}", token_ttl_s=-1, indexer_interval_s=0
        ),
        api.world.deployment,
    )
    with TestClient(short) as client:
        from tests.api.conftest import Api

        other = Api(client, api.world)
        r = client.get("/v1/auth/me", headers=other.sign_in(api.world.producer))
        assert r.status_code == 401 and "expired" in r.json()["error"]["message"]


def test_nonce_requests_are_rate_limited(embedded_world, tmp_path):
    app = create_app(
        ApiSettings(
            database_url=f"sqlite:///{tmp_path / 'r.db'}",
            rate_nonce_per_minute=3,
            indexer_interval_s=0,
        ),
        embedded_world.deployment,
    )
    with TestClient(app) as client:
        codes = [client.post("/v1/auth/nonce").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
