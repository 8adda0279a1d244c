"""Red team 4: an IPv6 client cannot dodge the anonymous rate limits by changing address.

Anonymous callers are rate limited per IP (sign-in nonces, uploads, generation openings, similar
searches), and a bucket was kept per address. An IPv6 subscriber is given a /64, 2**64 addresses
its host may use at will, so each request from a fresh address of the same /64 got a fresh
bucket: with ``rate_nonce_per_minute`` 2, three addresses of one /64 took 3 nonces, and so on
without bound (failed before: the third was 200). Now an IPv6 client counts as its /64, and an
IPv4 address mapped into IPv6 as that IPv4 address.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from marketplace_api.config import ApiSettings
from marketplace_api.main import create_app


def test_addresses_of_one_ipv6_64_share_a_bucket(embedded_world, tmp_path):
    settings = ApiSettings(
        database_url=f"sqlite:///{tmp_path / 's.db'}",
        blob_dir=tmp_path / "b",
        indexer_interval_s=0,
        follow_interval_s=0,  # no follower thread on the embedded chain (tests/api/conftest.py)
        rate_nonce_per_minute=2,
    )
    app = create_app(settings, embedded_world.deployment)

    def nonce(host: str) -> int:
        return TestClient(app, client=(host, 40000)).post("/v1/auth/nonce").status_code

    with TestClient(app):  # the app's lifespan
        assert nonce("2001:db8:1:2::1") == 200
        assert nonce("2001:db8:1:2:aaaa::9") == 200
        assert nonce("2001:db8:1:2:ffff:ffff:ffff:ffff") == 429  # failed before: 200
        assert nonce("2001:db8:1:3::1") == 200  # another /64 is another subscriber
        assert nonce("192.0.2.7") == 200
        assert nonce("::ffff:192.0.2.7") == 200
        assert nonce("192.0.2.7") == 429  # the mapped address is the IPv4 one
        assert nonce("192.0.2.8") == 200
