"""Sign-In with Ethereum: the happy path and every way a sign-in must fail (401)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from eth_account.messages import encode_defunct
from fastapi.testclient import TestClient

from marketplace_api import tokens
from marketplace_api.config import ApiSettings
from marketplace_api.main import create_app
from services import siwe
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
    codes = {
        "unknown": "siwe_nonce_invalid",
        "domain": "siwe_wrong_domain",
        "uri": "siwe_wrong_uri",
        "chain": "siwe_wrong_chain",
        "expired": "siwe_expired",
    }
    for name, text in cases.items():
        r = _verify(api, text, sign(alice, text))
        assert r.status_code == 401, (name, r.text)
        assert r.json()["error"]["code"] == codes[name], (name, r.text)


def test_signature_by_someone_else_is_refused(api):
    alice, mallory = api.world.producer, api.world.attacker
    text = siwe_text(alice, nonce=api.nonce(), chain_id=api.chain_id)
    r = _verify(api, text, sign(mallory, text))
    assert r.status_code == 401 and "not made by" in r.json()["error"]["message"]
    assert r.json()["error"]["code"] == "siwe_bad_signature"


def test_malformed_message_and_signature(api):
    r = _verify(api, "hello", "0x" + "00" * 65)
    assert r.status_code == 401 and r.json()["error"]["code"] == "siwe_malformed"
    for bad in ("0x123", "1234", "0x" + "zz" * 65, "0x" + "00" * 8194):
        r = api.client.post("/v1/auth/verify", json={"message": "x", "signature": bad})
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", bad


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
            database_url=f"sqlite:///{tmp_path / 's.db'}",
            token_ttl_s=-1,
            indexer_interval_s=0,
            follow_interval_s=0,
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
            follow_interval_s=0,  # no follower thread on the embedded chain (tests/api/conftest.py)
        ),
        embedded_world.deployment,
    )
    with TestClient(app) as client:
        codes = [client.post("/v1/auth/nonce").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def _message(api, account, **fields) -> str:
    now = datetime.now(UTC).replace(microsecond=0)
    base = {
        "domain": "localhost:8000",
        "address": account.address,
        "statement": None,
        "uri": "http://localhost:8000",
        "version": "1",
        "chain_id": api.chain_id,
        "nonce": api.nonce(),
        "issued_at": now,
        "expiration_time": now + timedelta(minutes=10),
    }
    return siwe.SiweMessage(**{**base, **fields}).to_text()


def test_standard_messages_sign_in(api):
    """The siwe/viem default (no statement: two blank lines after the address), MetaMask's
    Resources list, a Request ID, Not Before in the past, a scheme, no expiration."""
    alice = api.world.producer
    now = datetime.now(UTC).replace(microsecond=0)
    texts = [
        _message(api, alice),
        _message(
            api,
            alice,
            statement="Sign in to the AIGC marketplace.",
            resources=("ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",),
            request_id="req-42",
            not_before=now - timedelta(minutes=1),
        ),
        _message(api, alice, scheme="http", expiration_time=None),
    ]
    assert "\n0x" in texts[0] and f"{alice.address}\n\n\nURI: " in texts[0]
    for text in texts:
        r = _verify(api, text, sign(alice, text))
        assert r.status_code == 200, (text, r.text)
        assert r.json()["address"] == alice.address


def test_old_single_blank_line_form_is_refused_with_a_reason(api):
    alice = api.world.producer
    text = _message(api, alice).replace("\n\n\nURI:", "\n\nURI:")
    r = _verify(api, text, sign(alice, text))
    assert r.status_code == 401 and r.json()["error"]["code"] == "siwe_malformed"
    assert "two blank lines" in r.json()["error"]["message"]


def test_compact_and_every_v_encoding_sign_in(api):
    """EIP-2098 64-byte signatures and 65-byte ones with v = 0, 1, 27 or 28."""
    alice = api.world.producer
    for form in ("compact", "v01", "v27"):
        text = _message(api, alice)
        signed = alice.sign_message(encode_defunct(text=text))
        r_, s_, v = signed.r, signed.s, signed.v
        if form == "compact":
            raw = r_.to_bytes(32, "big") + ((v - 27) << 255 | s_).to_bytes(32, "big")
        elif form == "v01":
            raw = r_.to_bytes(32, "big") + s_.to_bytes(32, "big") + bytes([v - 27])
        else:
            raw = r_.to_bytes(32, "big") + s_.to_bytes(32, "big") + bytes([v])
        r = _verify(api, text, "0x" + raw.hex())
        assert r.status_code == 200, (form, r.text)
    # A compact signature with the other y parity recovers someone else.
    text = _message(api, alice)
    signed = alice.sign_message(encode_defunct(text=text))
    flipped = signed.r.to_bytes(32, "big") + ((28 - signed.v) << 255 | signed.s).to_bytes(32, "big")
    r = _verify(api, text, "0x" + flipped.hex())
    assert r.status_code == 401 and r.json()["error"]["code"] == "siwe_bad_signature"
    # v = 29 and a high-s twin (EIP-2) are refused.
    raw = bytes(signed.signature)
    r = _verify(api, text, "0x" + (raw[:64] + bytes([29])).hex())
    assert r.status_code == 401 and r.json()["error"]["code"] == "siwe_bad_signature"
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    high = raw[:32] + (n - signed.s).to_bytes(32, "big") + bytes([55 - signed.v])
    r = _verify(api, text, "0x" + high.hex())
    assert r.status_code == 401 and "upper half" in r.json()["error"]["message"]


def test_token_ends_no_later_than_the_message_expiration(api):
    alice = api.world.producer
    text = _message(api, alice, expiration_time=datetime.now(UTC) + timedelta(seconds=30))
    end = siwe.parse(text).expiration_time.timestamp()
    before = datetime.now(UTC).timestamp()
    r = _verify(api, text, sign(alice, text))
    after = datetime.now(UTC).timestamp()
    assert r.status_code == 200
    expiry = r.json()["expires_at"]
    assert expiry <= end
    # Not cut shorter than the message allows: only the request's duration and whole-second
    # rounding (of the TTL and of the expiry) are lost.
    assert expiry >= end - (after - before) - 2
    secret = api.client.app.state.settings.token_secret.get_secret_value().encode()
    assert tokens.check(r.json()["token"], secret=secret, now=expiry - 1) == alice.address
    with pytest.raises(tokens.TokenError, match="expired"):
        tokens.check(r.json()["token"], secret=secret, now=end)
    # Without an expiration the configured TTL (900 s) applies.
    text = _message(api, alice, expiration_time=None)
    r = _verify(api, text, sign(alice, text))
    assert r.json()["expires_at"] >= int(before) + 899


def test_not_before_in_the_future_is_refused(api):
    alice = api.world.producer
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    text = _message(api, alice, not_before=later)
    r = _verify(api, text, sign(alice, text))
    assert r.status_code == 401 and r.json()["error"]["code"] == "siwe_not_yet_valid"
    # The refusal did not burn the nonce: the same message works once it is valid (not here).
    text = _message(api, alice, not_before=datetime.now(UTC) - timedelta(seconds=1))
    assert _verify(api, text, sign(alice, text)).status_code == 200


def test_auth_scheme_is_case_insensitive(api):
    token = api.sign_in(api.world.producer)["Authorization"].removeprefix("Bearer ")
    for scheme in ("bearer", "BEARER", "bEaReR"):
        r = api.client.get("/v1/auth/me", headers={"Authorization": f"{scheme} {token}"})
        assert r.status_code == 200, scheme
    for header in (f"Basic {token}", token, "Bearer", f"Bearer{token}"):
        r = api.client.get("/v1/auth/me", headers={"Authorization": header})
        assert r.status_code == 401, header


def test_rate_limits_count_each_signed_in_address(embedded_world, tmp_path):
    """Behind a proxy every client has one IP: signed-in callers get a bucket per address,
    anonymous (or forged-token) callers share the IP's."""
    import io

    import numpy as np
    from PIL import Image

    from tests.api.conftest import Api

    app = create_app(
        ApiSettings(
            database_url=f"sqlite:///{tmp_path / 'k.db'}",
            blob_dir=tmp_path / "b",
            rate_upload_per_minute=2,
            indexer_interval_s=0,
            follow_interval_s=0,  # no follower thread on the embedded chain (tests/api/conftest.py)
        ),
        embedded_world.deployment,
    )
    buf = io.BytesIO()
    pixels = np.random.default_rng(7).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buf, format="PNG")
    files = {"image": ("a.png", buf.getvalue(), "image/png")}
    with TestClient(app) as client:
        api = Api(client, embedded_world)
        alice = api.sign_in(embedded_world.producer)
        bob_token = api.sign_in(embedded_world.buyer)["Authorization"].removeprefix("Bearer ")
        bob = {"Authorization": f"bearer {bob_token}"}

        def upload(headers=None):
            return client.post("/v1/search/similar", files=files, headers=headers or {})

        assert [upload(alice).status_code for _ in range(3)] == [200, 200, 429]
        assert [upload(bob).status_code for _ in range(3)] == [200, 200, 429]
        forged = {"Authorization": "Bearer abc.def"}
        assert [upload().status_code, upload(forged).status_code, upload().status_code] == [
            200,
            200,
            429,
        ]
