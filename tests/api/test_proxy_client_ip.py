"""Per-IP rate limits behind a reverse proxy (``AIGC_TRUSTED_PROXIES``).

Behind a proxy every client's TCP peer is the proxy: with ``rate_nonce_per_minute`` 2, two
clients behind one proxy shared one bucket, so the second client's first nonce was already 429
(one abuser locked everyone out; failed before: 429). Trusting ``X-Forwarded-For`` blindly
instead would let a client write a fresh address per request. Now the header is read only when
the peer is in a configured network, and the client is the rightmost entry that is no trusted
proxy: spoofed entries (left of what the proxy appended, or sent straight to the API) buy
nothing, and the IPv6 /64 grouping applies to the forwarded address as to a peer's.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from marketplace_api.config import ApiSettings
from marketplace_api.main import create_app
from marketplace_api.proxies import forwarded_client, parse_ip, parse_trusted_proxies

PROXY = "10.0.0.5"
TRUSTED = "10.0.0.0/8, 2001:db8:ffff::/48"


@pytest.fixture
def nonce(embedded_world, tmp_path):
    """``nonce(peer, xff=None)``: the status of ``POST /v1/auth/nonce`` from TCP peer ``peer``
    with that ``X-Forwarded-For`` (a list: one header each), two nonces a minute per client."""

    def make(trusted: str):
        settings = ApiSettings(
            database_url=f"sqlite:///{tmp_path / 'p.db'}",
            blob_dir=tmp_path / "b",
            indexer_interval_s=0,
            follow_interval_s=0,  # no follower thread on the embedded chain (tests/api/conftest.py)
            rate_nonce_per_minute=2,
            trusted_proxies=trusted,
        )
        app = create_app(settings, embedded_world.deployment)

        def call(peer: str, xff: str | list[str] | None = None) -> int:
            values = [xff] if isinstance(xff, str) else (xff or [])
            headers = [("x-forwarded-for", v) for v in values]
            client = TestClient(app, client=(peer, 40000))
            return client.post("/v1/auth/nonce", headers=headers).status_code

        return app, call

    apps = []

    def factory(trusted: str = TRUSTED):
        app, call = make(trusted)
        apps.append(app)
        return call

    yield factory
    for app in apps:
        app.state.engine.dispose()


def test_behind_a_trusted_proxy_two_clients_get_separate_buckets(nonce):
    call = nonce()
    assert call(PROXY, "198.51.100.1") == 200
    assert call(PROXY, "198.51.100.1") == 200
    assert call(PROXY, "198.51.100.1") == 429  # the first client is out
    assert call(PROXY, "198.51.100.2") == 200  # failed before: 429 (the proxy's one bucket)
    assert call(PROXY, "198.51.100.2") == 200


def test_a_client_rotating_its_own_x_forwarded_for_behind_the_proxy_does_not_dodge(nonce):
    """The proxy appends the real peer; what the client wrote stays to its left."""
    call = nonce()
    for i in range(2):
        assert call(PROXY, f"203.0.113.{i}, 198.51.100.1") == 200
    assert call(PROXY, "203.0.113.99, 198.51.100.1") == 429
    assert call(PROXY, ["203.0.113.98", "198.51.100.1"]) == 429  # the header repeated
    assert call(PROXY, "198.51.100.1, 10.0.0.9") == 429  # through a second trusted proxy


def test_a_spoofed_x_forwarded_for_from_an_untrusted_peer_is_ignored(nonce):
    call = nonce()
    assert call("192.0.2.50", "198.51.100.1") == 200
    assert call("192.0.2.50", "198.51.100.2") == 200
    assert call("192.0.2.50", "198.51.100.3") == 429  # one peer, one bucket, whatever it writes
    assert call("192.0.2.50", "10.0.0.5") == 429  # naming a trusted proxy changes nothing


def test_with_no_trusted_proxies_the_header_is_ignored_even_from_loopback(nonce):
    call = nonce("")
    assert call("127.0.0.1", "198.51.100.1") == 200
    assert call("127.0.0.1", "198.51.100.2") == 200
    assert call("127.0.0.1", "198.51.100.3") == 429


def test_a_forwarded_ipv6_client_counts_as_its_64(nonce):
    call = nonce()
    assert call(PROXY, "2001:db8:1:2::1") == 200
    assert call("2001:db8:ffff:1::1", "[2001:db8:1:2:aaaa::9]:4711") == 200  # IPv6 proxy, port
    assert call(PROXY, "2001:db8:1:2:ffff:ffff:ffff:ffff") == 429  # same /64
    assert call(PROXY, "2001:db8:1:3::1") == 200  # another subscriber
    assert call(PROXY, "::ffff:198.51.100.7") == 200
    assert call(PROXY, "198.51.100.7:55555") == 200
    assert call(PROXY, "198.51.100.7") == 429  # mapped and ported forms are the IPv4 client


def test_an_unreadable_hop_stops_at_the_proxy_that_wrote_it(nonce):
    """A proxy writing ``unknown`` (or a client's junk after a proxy that passes the header
    through unchanged) cannot give anyone a bucket of their own: the walk stops at the last
    trusted hop, whose bucket is shared."""
    call = nonce()
    assert call(PROXY, "198.51.100.1, unknown") == 200
    assert call(PROXY, "198.51.100.2, junk") == 200
    assert call(PROXY, "198.51.100.3, _hidden") == 429


def test_the_rule_step_by_step():
    nets = parse_trusted_proxies(TRUSTED)
    assert forwarded_client("192.0.2.1", ["198.51.100.1"], nets)[0] == "192.0.2.1"
    assert forwarded_client(PROXY, [], nets)[0] == PROXY  # no header: the proxy itself
    assert forwarded_client(PROXY, ["10.0.0.7, 10.0.0.6"], nets)[0] == "10.0.0.7"  # all trusted
    assert forwarded_client(PROXY, ["1.1.1.1, 2.2.2.2, 10.0.0.6"], nets)[0] == "2.2.2.2"
    assert forwarded_client("::ffff:10.0.0.5", ["2.2.2.2"], nets)[0] == "2.2.2.2"
    assert forwarded_client("testclient", ["2.2.2.2"], nets)[0] == "testclient"
    assert forwarded_client(PROXY, ["2.2.2.2"], ())[0] == PROXY  # none trusted: the peer
    assert parse_ip("[::1") is None and parse_ip("[::1]x") is None and parse_ip("") is None
    assert str(parse_ip("fe80::1%eth0")) == "fe80::1"


@pytest.mark.parametrize("value", ["10.0.0.0/33", "proxy.example", "10.0.0.0/8, ::1/200"])
def test_a_bad_trusted_proxies_setting_is_refused_at_start(value):
    with pytest.raises(ValidationError, match="AIGC_TRUSTED_PROXIES"):
        ApiSettings(trusted_proxies=value)
